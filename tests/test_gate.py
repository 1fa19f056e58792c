"""The no-gesture gate: a learned "is this a gesture at all" check on the last layer's spikes per channel — its
logistic fit, the limit at the chosen share of gestures, the decision's use of it, its storage, and teach-bank."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from models.decision import NO_CLASS, UNFAMILIAR_CLASS, Decision, FeatureCheck, NoGestureGate, explain, rule_text
from sast_live.errors import SastLiveError
from sast_live.pipeline.backends import DEFAULT_MODEL
from tests.conftest import main_in_process
from training.decision.gate import fit_gate, logistic_fit


def _windows(rng, n, scale):
    """Spikes per channel per bin of ``n`` windows (D = 6): gestures fire channels 0–2, scenes without a gesture
    channels 3–5, each a little of the other's."""
    y = rng.integers(0, 3, n)  # classes 0, 1 gestures; 2 the model's no gesture
    base = np.where((y == 2)[:, None], [0.3, 0.3, 0.3, 2.0, 2.0, 2.0], [2.0, 2.0, 2.0, 0.3, 0.3, 0.3])
    return rng.gamma(4.0, base * scale / 4.0), y


def test_the_logistic_fit_is_scikit_learns_balanced_one():
    linear = pytest.importorskip("sklearn.linear_model")
    rng = np.random.default_rng(0)
    x = rng.normal(size=(400, 5))
    y = (x @ [1.0, -2.0, 0.5, 0.0, 1.0] + rng.normal(size=400) > 1.0).astype(int)  # unbalanced: about a third
    w, b = logistic_fit(x, y)
    ref = linear.LogisticRegression(C=1.0, class_weight="balanced", tol=1e-10, max_iter=10_000).fit(x, y)
    assert np.allclose(w, ref.coef_[0], atol=1e-5) and b == pytest.approx(ref.intercept_[0], abs=1e-5)
    with pytest.raises(SastLiveError, match="both kinds"):
        logistic_fit(x, np.zeros(400))


def test_the_gate_closes_the_chosen_share_of_gestures_and_most_scenes_without_one():
    rng = np.random.default_rng(1)
    fx, fy = _windows(rng, 6000, 1.0)
    vx, vy = _windows(rng, 6000, 1.0)
    right = vy != 2
    gate = fit_gate(fx, fy, vx, right, reject_class=2, lost=0.02, fitted_on="synthetic")
    assert gate.closes(vx[right]).mean() == pytest.approx(0.02, abs=0.002)
    assert gate.closes(vx[vy == 2]).mean() > 0.9
    d = Decision(reject_class=2, gate=gate, familiar=FeatureCheck(np.eye(6), np.zeros((3, 6)), 50.0))
    logits = np.array([[9.0, 0, 0], [9.0, 0, 0], [0, 0, 9.0], [9.0, 0, 0]])
    far = np.full(6, 30.0)  # unlike every class: the familiar check's
    channels = np.stack([vx[right][0], vx[vy == 2][0], vx[vy == 2][1], far])
    k, _ = d.decide_many(logits, None, channels)
    want = [0 if not gate.closes(channels[0]) else NO_CLASS, NO_CLASS, NO_CLASS,
            NO_CLASS if gate.closes(far) else UNFAMILIAR_CLASS]
    assert list(k) == want and want[1] == NO_CLASS
    assert [d.decide(lo, None, ch)[0] for lo, ch in zip(logits, channels, strict=True)] == want
    assert d.decide(logits[1], None, None)[0] == 0  # without features the gate is not asked
    why = explain(d, d.probabilities(logits[1]), NO_CLASS, ("a", "b", "no_gesture"))
    assert "gate closed" in why.reason and why.highlight == 2
    assert "no-gesture gate" in rule_text(d, ("a", "b", "no_gesture"))
    with pytest.raises(SastLiveError, match="in \\(0, 0.5\\)"):
        fit_gate(fx, fy, vx, right, reject_class=2, lost=0.6)


def test_a_stored_gate_survives_json_and_bad_ones_are_refused():
    gate = NoGestureGate(np.array([0.5, -1.0, 2.0]), -0.25, 0.8, 0.02, "unit test")
    d = Decision(reject_class=1, gate=gate)
    back = Decision.from_dict(json.loads(json.dumps(d.to_dict())), ("a", "no_gesture"))
    f = np.random.default_rng(2).gamma(1.0, 1.0, (5, 3))
    assert np.allclose(back.gate.probability(f), gate.probability(f)) and back.gate.limit == 0.8
    assert "gate" not in Decision(reject_class=1).to_dict()  # a decision without one writes what it always wrote
    good = gate.to_dict()
    for bad, what in (({**good, "limit": 1.5}, "limit"), ({**good, "weights": [[1.0]]}, "weights"),
                      ({**good, "weights": [float("nan")]}, "weights"), ({**good, "bias": "x"}, "bias"),
                      ({"weights": [1.0]}, "must be an object")):
        with pytest.raises(SastLiveError, match=what):
            Decision.from_dict({**d.to_dict(), "gate": bad}, ("a", "no_gesture"))
    with pytest.raises(SastLiveError, match="needs the model's own no-gesture class"):
        Decision.from_dict({"gate": good}, ("a", "b"))


@pytest.mark.slow
def test_teach_bank_fits_keeps_and_removes_the_gate(tmp_path, capsys):
    """On a copy of the bundled model with its bank: --gate fits it (the share asked for, on the bank's windows, in
    the model's own form), teach-bank without the option refits it at its own share, --gate-features switches its
    form, --gate 0 removes it, an impossible share or --gate 0 with a form is refused, and the live app's backend
    carries it."""
    from sast_live.model_info import bank_path
    from sast_live.pipeline import load_backend

    model = tmp_path / "model"
    for suffix in (".json", ".safetensors"):
        shutil.copy((DEFAULT_MODEL / "model").with_suffix(suffix), model.with_suffix(suffix))
    shutil.copy(bank_path(DEFAULT_MODEL / "model"), bank_path(model))
    bad = main_in_process(capsys, "teach-bank", model, "--check-only", "--gate", "0.7", ok=False)
    assert bad.returncode == 2 and "--gate 0.7" in bad.stderr and "(0, 0.5)" in bad.stderr
    ok = main_in_process(capsys, "teach-bank", model, "--check-only", "--gate", "0.02")
    assert "no-gesture gate" in ok.stdout
    stored = json.loads(model.with_suffix(".json").read_text())["decision"]["gate"]  # the model's own form kept
    assert stored["lost"] == 0.02 and stored["features"] == "channels+cells" and len(stored["weights"]) == 64 + 16
    assert 0 < stored["limit"] < 1
    assert load_backend(str(model)).decision.gate.limit == stored["limit"]
    main_in_process(capsys, "teach-bank", model, "--check-only")
    assert json.loads(model.with_suffix(".json").read_text())["decision"]["gate"] == stored  # refitted alike
    first = main_in_process(capsys, "teach-bank", model, "--check-only", "--gate", "0.02", "--gate-features",
                            "channels")
    assert "no-gesture gate" in first.stdout
    back = json.loads(model.with_suffix(".json").read_text())["decision"]["gate"]  # the first form asked for
    assert "features" not in back and len(back["weights"]) == 64
    bad = main_in_process(capsys, "teach-bank", model, "--check-only", "--gate", "0", "--gate-features",
                          "channels+cells", ok=False)
    assert bad.returncode == 2 and "--gate 0 removes the gate" in bad.stderr
    gone = main_in_process(capsys, "teach-bank", model, "--check-only", "--gate", "0")
    assert "no no-gesture gate" in gone.stdout
    assert "gate" not in json.loads(model.with_suffix(".json").read_text())["decision"]
    bad = main_in_process(capsys, "teach-bank", model, "--check-only", "--gate-features", "channels", ok=False)
    assert bad.returncode == 2 and "has no no-gesture gate to refit" in bad.stderr


def test_the_second_form_reads_how_spread_the_activity_is_not_where():
    """``channels+cells``: gestures fire a few positions (wherever the person stands), scenes without one spread
    over many; the same channel counts. The gate separates them at the chosen share, gives a window moved to other
    positions the same probability (the cells are sorted), keeps its form through JSON, refuses a bad one, and is
    never skipped silently when the cells are missing."""
    rng = np.random.default_rng(3)

    def windows(n):
        y = rng.integers(0, 3, n)
        channels = rng.gamma(4.0, 0.5, (n, 6))
        cells = np.zeros((n, 16))
        for i in range(n):
            k = 12 if y[i] == 2 else 3  # positions active
            cells[i, rng.choice(16, k, replace=False)] = rng.gamma(4.0, 1.0 / k, k) * 8
        return channels, cells, y

    fc, fp, fy = windows(4000)
    vc, vp, vy = windows(4000)
    right = vy != 2
    gate = fit_gate(fc, fy, vc, right, 2, 0.02, "synthetic", fit_cells=fp, val_cells=vp, features="channels+cells")
    assert gate.features == "channels+cells" and len(gate.weights) == 6 + 16
    assert gate.closes(vc[right], vp[right]).mean() == pytest.approx(0.02, abs=0.005)
    assert gate.closes(vc[vy == 2], vp[vy == 2]).mean() > 0.9
    moved = np.roll(vp, 5, axis=1)  # the same activity at other positions
    assert np.allclose(gate.probability(vc, moved), gate.probability(vc, vp))
    first = fit_gate(fc, fy, vc, right, 2, 0.02)  # the channels alone cannot tell them apart
    assert first.closes(vc[vy == 2]).mean() < 0.5
    d = Decision(reject_class=2, gate=gate)
    back = Decision.from_dict(json.loads(json.dumps(d.to_dict())), ("a", "b", "no_gesture"))
    assert back.gate.features == "channels+cells" and np.allclose(back.gate.probability(vc, vp),
                                                                   gate.probability(vc, vp))
    assert "features" not in first.to_dict()  # the first form writes what it always wrote
    with pytest.raises(SastLiveError, match="features"):
        Decision.from_dict({**d.to_dict(), "gate": {**gate.to_dict(), "features": "pixels"}}, ("a", "b", "no_gesture"))
    familiar = FeatureCheck(np.eye(6), np.zeros((3, 6)), 50.0).to_dict()
    with pytest.raises(SastLiveError, match="positions"):  # as many weights as channels: no room for the cells
        Decision.from_dict({**d.to_dict(), "familiar": familiar,
                            "gate": {**gate.to_dict(), "weights": [0.1] * 6}}, ("a", "b", "no_gesture"))
    with pytest.raises(SastLiveError, match="cells"):
        d.decide(np.array([9.0, 0, 0]), None, vc[0])
    with pytest.raises(SastLiveError, match="another network"):
        gate.probability(vc[:, :5], vp)


@pytest.mark.slow
def test_a_cells_gate_with_negatives_is_fitted_and_the_app_decides_as_its_fit_does(tmp_path, capsys,
                                                                                     tiny_gestures_v2):
    """teach-bank --gate-features channels+cells --gate-negatives: the bank gains a negatives part (the training
    people's no-gesture recordings, each also once moved), the stored gate reads 64 + 16 features; and the live
    app's streaming windows — their cells counted by the simulator as it runs — are decided exactly as the fit's
    offline windows from the bank's hop counts (with a limit low enough that the gate closes often)."""
    from dataclasses import replace
    from pathlib import Path

    from firmware_sim.precisions import PRECISIONS
    from firmware_sim.quantize import quantize_checkpoint
    from models.checkpoint.weights import load_model
    from sast_live.formats.registry import read_events
    from sast_live.model_info import bank_path
    from sast_live.pipeline import load_backend
    from sast_live.pipeline.options import PipelineOptions
    from sast_live.pipeline.pipeline import stream_windows
    from training.convex.dictionary import hidden_firmware
    from training.decision.gate import app_windows
    from training.teach.bank import PARTS, Bank, take_hops
    from training.teach.readout import streaming_setup

    model = tmp_path / "model"
    for suffix in (".json", ".safetensors"):
        shutil.copy((DEFAULT_MODEL / "model").with_suffix(suffix), model.with_suffix(suffix))
    shutil.copy(bank_path(DEFAULT_MODEL / "model"), bank_path(model))
    scenes = tmp_path / "scenes"  # four people's no-gesture recordings (one held out as a validation person)
    meta = json.loads((tiny_gestures_v2 / "meta.json").read_text())
    no_gesture = sorted(Path(tiny_gestures_v2, "test").rglob("*.raw"))[-1]
    assert "no_gesture" in no_gesture.parent.name
    (scenes / "train" / no_gesture.parent.name).mkdir(parents=True)
    for k in range(4):
        shutil.copy(no_gesture, scenes / "train" / no_gesture.parent.name / f"{k:05d}.raw")
    table = [[] for _ in meta["classes"]]
    table[-1] = [[k, "natural"] for k in range(4)]
    (scenes / "meta.json").write_text(json.dumps({**meta, "splits": {"train": 4}, "recordings": {"train": table}}))
    main_in_process(capsys, "teach-bank", model, "--check-only", "--gate", "0.02", "--gate-features",
                    "channels+cells", "--gate-negatives", scenes, "--quiet")
    bank = Bank.load(bank_path(model))
    negatives = int((bank.parts == PARTS.index("negatives")).sum())
    assert negatives == 2 * 3 and "negatives:" in bank.source  # 3 training people, each recording also moved
    stored = json.loads(model.with_suffix(".json").read_text())["decision"]["gate"]
    assert stored["features"] == "channels+cells" and len(stored["weights"]) == 80
    assert "more no-gesture recordings" in stored["fitted_on"]

    backend = load_backend(str(model), PRECISIONS["int8"])
    fw = quantize_checkpoint(str(model), PRECISIONS["int8"].quant_config())
    net, _ = load_model(str(model))
    sim = hidden_firmware(net, "int8")
    n_hops, weights = streaming_setup(backend.decision, int(net.cfg.bin_us), bank.hop_bins)
    files = sorted(Path(tiny_gestures_v2, "test").rglob("*.raw"))[:6]
    recs = [(*take_hops(sim, read_events(f), net.cfg, bank.hop_bins), 0) for f in files]
    offline = app_windows(fw, replace(backend.decision, gate=None), recs, n_hops, weights)
    probs = backend.decision.gate.probability(offline.channels, offline.cells)
    gate = replace(backend.decision.gate, limit=float(np.median(probs)))  # closes about half of them
    backend.decision = replace(backend.decision, gate=gate)
    want = app_windows(fw, backend.decision, recs, n_hops, weights).answers
    got = np.concatenate([[w.class_index for w in stream_windows(backend, read_events(f), (128, 128),
                                                                 PipelineOptions(model=str(model)))] for f in files])
    assert np.array_equal(got, want) and (want == NO_CLASS).sum() >= len(want) // 4


def test_a_gate_that_does_not_fit_the_network_is_refused_where_the_model_loads(tmp_path, capsys):
    """A gate whose weights do not match the last layer (here 70 for a network that gives it 64 + 16) passes the
    JSON's own checks but is refused when the model loads, in one line — not at its first window."""
    from sast_live.pipeline import load_backend

    model = tmp_path / "model"
    shutil.copy((DEFAULT_MODEL / "model").with_suffix(".safetensors"), model.with_suffix(".safetensors"))
    meta = json.loads((DEFAULT_MODEL / "model").with_suffix(".json").read_text())
    meta["decision"]["gate"] = {**meta["decision"]["gate"], "features": "channels+cells", "weights": [0.01] * 70}
    model.with_suffix(".json").write_text(json.dumps(meta))
    for precision in ("int8", "float"):
        from firmware_sim.precisions import PRECISIONS

        with pytest.raises(SastLiveError, match="has 70 weights.*gives it 80 features"):
            load_backend(str(model), PRECISIONS[precision])
    r = main_in_process(capsys, "replay", "sast_live/assets/demo_gestures.raw", "--headless", "--model", model,
                        ok=False)
    assert r.returncode == 2 and "gives it 80 features" in r.stderr and "Traceback" not in r.stderr
