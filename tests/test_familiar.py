"""The feature half of "unfamiliar scene": the Ledoit–Wolf covariance, the Mahalanobis check fitted on a feature
bank, its storage, and the live app measuring the same distance the fit did."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from firmware_sim.precisions import PRECISIONS
from models.decision import NO_CLASS, UNFAMILIAR_CLASS, Decision, FeatureCheck, explain, rule_text
from sast_live.errors import SastLiveError
from sast_live.events import SensorSize
from sast_live.pipeline import load_backend
from sast_live.pipeline.backends import DEFAULT_MODEL
from sast_live.pipeline.options import PipelineOptions
from sast_live.pipeline.pipeline import stream_windows
from tests.conftest import main_in_process
from training.decision.familiar import fit_feature_check, ledoit_wolf, pooled


def test_ledoit_wolf_shrinks_little_with_many_samples_and_much_with_few():
    rng = np.random.default_rng(0)
    mix = rng.normal(size=(20, 20))
    many = rng.normal(size=(20_000, 20)) @ mix  # a strongly correlated covariance, well sampled
    cov, s = ledoit_wolf(many - many.mean(0))
    assert s < 0.01 and np.allclose(cov, np.cov(many.T, bias=True), rtol=0.05, atol=0.5)
    few = rng.normal(size=(15, 40))  # isotropic, fewer samples than dimensions: the sample covariance is noise
    cov, s = ledoit_wolf(few - few.mean(0))
    assert s > 0.7 and np.linalg.matrix_rank(cov) == 40  # invertible, which the sample covariance is not
    with pytest.raises(SastLiveError, match="at least 2"):
        ledoit_wolf(few[:1])


def test_ledoit_wolf_is_the_published_estimator():
    sklearn = pytest.importorskip("sklearn.covariance")
    rng = np.random.default_rng(1)
    x = rng.normal(size=(60, 12)) @ rng.normal(size=(12, 12))
    x -= x.mean(0)
    ours, s = ledoit_wolf(x)
    ref = sklearn.LedoitWolf(assume_centered=True).fit(x)
    assert s == pytest.approx(ref.shrinkage_) and np.allclose(ours, ref.covariance_)


def _classes(rng, n, means, mix):
    y = rng.integers(0, len(means), n)
    return means[y] + rng.normal(size=(n, mix.shape[0])) @ mix, y


def test_the_check_flags_the_chosen_share_of_familiar_gestures_and_a_scene_unlike_every_class():
    rng = np.random.default_rng(2)
    means = rng.normal(0, 6, (4, 8))
    mix = rng.normal(size=(8, 8)) * 0.5
    fx, fy = _classes(rng, 8000, means, mix)
    vx, vy = _classes(rng, 8000, means, mix)
    check = fit_feature_check(fx, fy, vx, vy, 4, reject_class=3, share=0.02, fitted_on="synthetic")
    gestures = vy != 3
    assert check.distance(vx[gestures]).__gt__(check.max_distance).mean() == pytest.approx(0.02, abs=0.003)
    tx, ty = _classes(rng, 8000, means, mix)  # fresh data of the same kind: about the same share
    assert 0.01 < (check.distance(tx[ty != 3]) > check.max_distance).mean() < 0.03
    far = means.mean(0) + 40 * rng.normal(size=(50, 8))
    assert (check.distance(far) > check.max_distance).all()
    d = Decision(reject_class=3, familiar=check)
    logits = np.zeros((3, 4))
    logits[:, 0] = 9.0  # a confident claim of class 0 …
    logits[2] = [0, 0, 0, 9.0]  # … and one of the model's own no-gesture class
    k, _ = d.decide_many(logits, None, np.stack([means[0], far[0], far[1]]))
    assert list(k) == [0, UNFAMILIAR_CLASS, NO_CLASS]  # near its class: named; far: unfamiliar; no gesture stays
    assert d.decide(logits[0], None, None)[0] == 0  # without features the check is not made
    with pytest.raises(SastLiveError, match="classes \\[2\\] have no windows"):
        fit_feature_check(fx[fy != 2], fy[fy != 2], vx, vy, 4, reject_class=3)


def test_a_stored_check_survives_json_and_bad_ones_are_refused():
    rng = np.random.default_rng(3)
    w = np.linalg.cholesky(np.eye(3) * 2).T
    check = FeatureCheck(w, rng.normal(size=(2, 3)), 7.5, "unit test")
    d = Decision(reject_class=1, familiar=check)
    back = Decision.from_dict(json.loads(json.dumps(d.to_dict())), ("a", "b"))
    f = rng.normal(size=(5, 3))
    assert np.allclose(back.familiar.distance(f), check.distance(f)) and back.familiar.max_distance == 7.5
    assert Decision.from_dict(Decision().to_dict(), ("a", "b")).familiar is None
    good = check.to_dict()
    for bad, what in (({**good, "means": [[0.0] * 3]}, "means"), ({**good, "whiten": [[1.0, 2.0]]}, "whiten"),
                      ({**good, "max_distance": -1}, "max_distance"), ({**good, "whiten": "I"}, "whiten"),
                      ({**good, "means": [[float("nan")] * 3] * 2}, "finite"), ({"whiten": []}, "must be an object")):
        with pytest.raises(SastLiveError, match=what):
            Decision.from_dict({**d.to_dict(), "familiar": bad}, ("a", "b"))
    assert "Mahalanobis" in rule_text(d, ("a", "b"))


@pytest.fixture(scope="module")
def gen4_crop(real_dir):
    """The training side's Gen4 street crop, looped over 4 s: a real scene unlike any person (development data of
    the check, never its held-out test)."""
    from sast_live.formats.registry import open_events
    from training.data.real_scenes import TRAINING, centre_crop
    from training.evaluation.no_gesture import looped

    reader = open_events(real_dir / [v for k, v in TRAINING.items() if "Gen4" in k][0])
    return looped(centre_crop(reader.read(), reader.sensor_size), np.random.default_rng(0))


def test_the_app_measures_the_distance_the_check_was_fitted_on(gen4_crop):
    """The live pipeline's per-window distance is the FeatureCheck's distance of the feature bank's window features
    (the same hop counts, formed the same way, pooled per channel), and the bundled model calls the training
    side's Gen4 street crop unfamiliar where it would have named a gesture."""
    from firmware_sim.features import window_features
    from firmware_sim.precisions import DEPLOYED
    from models.checkpoint.weights import load_model
    from training.convex.dictionary import hidden_firmware
    from training.teach.bank import take_hops
    from training.teach.readout import streaming_setup

    backend = load_backend(None, PRECISIONS["int8"])
    check = backend.decision.familiar
    assert check is not None, "the bundled model carries the feature check"
    wins = [w for w in stream_windows(backend, gen4_crop, SensorSize(128, 128), PipelineOptions()) if not w.partial]
    model, _ = load_model(str(DEFAULT_MODEL / "model"))
    n_hops, weights = streaming_setup(backend.decision, model.cfg.bin_us, 10)
    counts, bins = take_hops(hidden_firmware(model, DEPLOYED), gen4_crop, model.cfg, 10)
    want = check.distance(pooled(window_features(counts, bins, n_hops, weights), 64))
    got = np.array([w.distance for w in wins])
    assert len(got) == len(want) >= 14 and np.allclose(got, want, rtol=1e-9)
    assert (got > check.max_distance).all()
    assert not any(w.class_index >= 0 for w in wins)  # no gesture or unfamiliar scene, every window
    w = next(w for w in wins if w.class_index == UNFAMILIAR_CLASS)
    why = explain(backend.decision, np.full(12, 1 / 12), UNFAMILIAR_CLASS, backend.classes, w).reason
    assert "from the nearest class" in why and w.as_json()["distance"] == pytest.approx(w.distance, abs=1e-3)


def test_teach_bank_check_only_fits_the_check_from_the_bank_beside_the_model(tmp_path, capsys):
    from sast_live.model_info import bank_path

    model = tmp_path / "model"
    for suffix in (".json", ".safetensors"):
        shutil.copy((DEFAULT_MODEL / "model").with_suffix(suffix), model.with_suffix(suffix))
    meta = json.loads(model.with_suffix(".json").read_text())
    meta["decision"].pop("familiar")
    model.with_suffix(".json").write_text(json.dumps(meta))
    bad = main_in_process(capsys, "teach-bank", model, "--check-only", ok=False)
    assert bad.returncode == 2 and "no feature bank" in bad.stderr and "teach-bank MODEL" in bad.stderr
    shutil.copy(bank_path(DEFAULT_MODEL / "model"), bank_path(model))
    ok = main_in_process(capsys, "teach-bank", model, "--check-only")
    assert "unfamiliar-scene check" in ok.stdout
    stored = json.loads(model.with_suffix(".json").read_text())["decision"]["familiar"]
    shipped = json.loads((DEFAULT_MODEL / "model.json").read_text())["decision"]["familiar"]
    assert stored["max_distance"] == shipped["max_distance"] > 0  # the shipped check is this command's
