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
    """On a copy of the bundled model with its bank: --gate fits it (the share asked for, on the bank's windows),
    teach-bank without the option refits it at its own share, --gate 0 removes it, an impossible share is refused,
    and the live app's backend carries it."""
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
    stored = json.loads(model.with_suffix(".json").read_text())["decision"]["gate"]
    assert stored["lost"] == 0.02 and len(stored["weights"]) == 64 and 0 < stored["limit"] < 1
    assert load_backend(str(model)).decision.gate.limit == stored["limit"]
    main_in_process(capsys, "teach-bank", model, "--check-only")
    assert json.loads(model.with_suffix(".json").read_text())["decision"]["gate"] == stored  # refitted alike
    gone = main_in_process(capsys, "teach-bank", model, "--check-only", "--gate", "0")
    assert "no no-gesture gate" in gone.stdout
    assert "gate" not in json.loads(model.with_suffix(".json").read_text())["decision"]
