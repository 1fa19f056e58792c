"""Calibrated confidences and "no gesture": the Decision rule, the temperature fit, the validation split, and the
streaming pipeline (a prediction every hop over the last window, the network running on)."""

from __future__ import annotations

import numpy as np
import pytest

from firmware_sim.precisions import PRECISIONS
from models.decision import (
    NO_CLASS,
    NO_GESTURE,
    UNFAMILIAR,
    UNFAMILIAR_CLASS,
    Decision,
    energy,
    explain,
    rule_text,
    softmax,
    verdict_name,
)
from sast_live.errors import SastLiveError
from sast_live.events import SensorSize
from sast_live.formats.registry import read_events
from sast_live.pipeline import Pipeline, load_backend
from sast_live.pipeline.options import TRAINING_WINDOWS, PipelineOptions
from tests.test_wire import DEMO
from training.decision.calibration import fit_decision, fit_offsets_and_temperature, fit_temperature, fit_unfamiliar


@pytest.fixture(scope="module")
def demo():
    ev = read_events(DEMO)
    return ev[ev["t"] < 3_000_000]


def test_the_decision_says_no_gesture_for_its_reject_class_and_for_low_confidence():
    d = Decision(temperature=2.0, reject_class=2, min_confidence=0.6)
    assert np.allclose(d.probabilities([2.0, 0.0, 0.0]), softmax([1.0, 0.0, 0.0]))
    assert d.decide(np.array([8.0, 0.0, 0.0]))[0] == 0
    assert d.decide(np.array([0.0, 0.0, 8.0]))[0] == NO_CLASS  # the model's own "nothing I know"
    k, conf, _ = d.decide(np.array([1.0, 0.5, 0.0]))  # top class, but not sure enough
    assert k == NO_CLASS and conf < 0.6
    classes, confs = d.decide_many(np.array([[8.0, 0, 0], [0, 0, 8.0], [1.0, 0.5, 0]]))
    assert classes.tolist() == [0, NO_CLASS, NO_CLASS] and confs[0] > 0.9


def test_an_unfamiliar_window_is_called_so_instead_of_a_gesture_but_no_gesture_wins():
    d = Decision(reject_class=2, max_energy=-5.0, event_rate=(100.0, 10_000.0))
    assert energy(np.array([8.0, 0.0, 0.0])) == pytest.approx(-8.0 - np.log(1 + 2 * np.exp(-8.0)))
    assert d.decide(np.array([8.0, 0.0, 0.0]), 1000.0)[0] == 0  # confident and familiar
    assert d.decide(np.array([3.0, 0.0, 0.0]), 1000.0)[0] == UNFAMILIAR_CLASS  # weak evidence: high energy
    assert d.decide(np.array([8.0, 0.0, 0.0]), 50_000.0)[0] == UNFAMILIAR_CLASS  # far more events than known
    assert d.decide(np.array([8.0, 0.0, 0.0]))[0] == 0  # the rate is not checked when not given
    assert d.decide(np.array([0.0, 0.0, 3.0]), 50_000.0)[0] == NO_CLASS  # "no gesture" is never replaced
    classes, _ = d.decide_many(np.array([[8.0, 0, 0], [3.0, 0, 0], [8.0, 0, 0]]), np.array([1e3, 1e3, 10.0]))
    assert classes.tolist() == [0, UNFAMILIAR_CLASS, UNFAMILIAR_CLASS]
    assert verdict_name(UNFAMILIAR_CLASS, "abc") == UNFAMILIAR and verdict_name(NO_CLASS, "abc") == NO_GESTURE
    stored = Decision.from_dict(d.to_dict(), ("a", "b", "c"))
    assert stored == d


def test_each_answer_comes_with_its_reason_and_the_bar_that_decided_it():
    """The prediction panel's words: the named gesture and its floor; no gesture because the model's own class is
    most likely (its % shown) or because the top class is under the floor (the no-gesture bar highlighted either
    way); an unfamiliar scene (no bar) with the limit that was crossed."""
    from types import SimpleNamespace

    classes = ("hand_clap", "arm_roll", "no_gesture")
    d = Decision(reject_class=2, min_confidence=0.7, max_energy=-1.0, event_rate=(1_000.0, 100_000.0))
    named = explain(d, [0.92, 0.05, 0.03], 0, classes)
    assert named.headline == "hand clap 92%" and "70% floor" in named.reason and named.highlight == 0
    own = explain(d, [0.2, 0.16, 0.64], NO_CLASS, classes)
    assert own.headline == "no gesture 64%" and own.reason == "no gesture most likely" and own.highlight == 2
    low = explain(d, [0.48, 0.25, 0.27], NO_CLASS, classes)
    assert low.headline == "no gesture" and low.highlight == 2  # the decided class's bar, whatever its height
    assert low.reason == "below the 70% floor: hand clap 48% most likely"
    window = SimpleNamespace(energy=-0.5, events=250_000, t_start_us=0, t_end_us=500_000)
    odd = explain(d, [0.9, 0.05, 0.05], UNFAMILIAR_CLASS, classes, window)
    assert odd.headline == "unfamiliar scene" and odd.highlight == -1
    assert "energy -0.50 is above the -1.00 limit" in odd.reason and "500,000 events/s is outside" in odd.reason
    rule = rule_text(d, classes)
    assert "at least 70%" in rule and "no gesture class" in rule and "above -1.00" in rule
    assert "Confidences" in rule_text(Decision(), classes) and "floor" not in rule_text(Decision(), classes)
    assert explain(Decision(min_confidence=0.7), [0.5, 0.3, 0.2], NO_CLASS, classes).highlight == -1  # no own class


def test_the_unfamiliar_limits_flag_the_chosen_share_of_validation_gestures():
    rng = np.random.default_rng(4)
    z = rng.normal(0, 3, (5000, 4))
    labels = z.argmax(1)
    rates = rng.uniform(1e3, 5e3, 5000)
    limits = fit_unfamiliar(z, labels, 1.0, reject_class=3, rates=rates, share=0.02)
    d = Decision(reject_class=3, **limits)
    gestures = labels != 3
    flagged = d.unfamiliar(z, rates)[gestures].mean()
    assert 0.015 < flagged < 0.025
    assert limits["event_rate"][0] < 1e3 / 1.9 and limits["event_rate"][1] > 5e3 * 1.9


@pytest.mark.parametrize("bad,names", [({"temperature": 0}, "temperature"), ({"temperature": "hot"}, "temperature"),
                                       ({"reject_class": 3}, "reject_class"), ({"min_confidence": 1.5}, "min_conf"),
                                       ({"threshold": 0.5}, "must be an object"), ([1], "must be an object"),
                                       ({"window_ms": 0}, "window_ms"), ({"window_ms": "1s"}, "window_ms"),
                                       ({"taper": "cosine"}, "taper"), ({"max_energy": "high"}, "max_energy"),
                                       ({"max_energy": float("inf")}, "max_energy"),
                                       ({"event_rate": [5, 1]}, "event_rate"), ({"event_rate": 3}, "event_rate")])
def test_stored_decisions_are_checked(bad, names):
    with pytest.raises(SastLiveError, match=names):
        Decision.from_dict(bad, ("a", "b", "c"))
    assert Decision.from_dict(None, ("a",)) == Decision()


def test_temperature_scaling_recovers_a_known_temperature_and_keeps_the_predictions():
    """Labels drawn from softmax(z): logits 3·z are over-confident by exactly T = 3."""
    rng = np.random.default_rng(0)
    z = rng.normal(0, 2, (4000, 5))
    labels = np.array([rng.choice(5, p=p) for p in softmax(z)])
    t = fit_temperature(3 * z, labels)
    assert abs(t - 3) < 0.25
    decision, fig, shift = fit_decision(3 * z, labels, reject_class=None, fitted_on="test", keep=0.9)
    assert shift is None
    assert fig["ece_after"] < fig["ece_before"] / 2 and decision.temperature == pytest.approx(t)
    p = softmax(3 * z, t)
    right = p.argmax(1) == labels
    assert (p.max(1)[right] >= decision.min_confidence).mean() == pytest.approx(0.9, abs=0.01)


def test_offsets_and_temperature_are_recovered_and_a_spikeless_answer_becomes_confident():
    """Labels drawn from softmax(z / 2 + b): the fit finds T = 2 and b (up to the softmax's free constant). Then a
    network's spikeless scenes: one logit row (the readout bias alone) shared by many samples, nearly all of the
    reject class; temperature scaling leaves them unsure, the offsets make them confident."""
    rng = np.random.default_rng(1)
    b = np.array([0.0, 1.0, -1.0, 0.5])
    z = rng.normal(0, 3, (6000, 4))
    labels = np.array([rng.choice(4, p=p) for p in softmax(z / 2 + b)])
    t, got = fit_offsets_and_temperature(z, labels, ridge=1e-6)
    assert abs(t - 2) < 0.15 and np.allclose(got - got.mean(), b - b.mean(), atol=0.12)
    decision, fig, shift = fit_decision(z, labels, None, "test", offsets=True)
    assert np.allclose(shift, decision.temperature * fit_offsets_and_temperature(z, labels)[1])
    assert fig["logit_offsets"] == pytest.approx(shift.tolist(), abs=1e-6)
    bias_row = np.array([0.1, 0.0, 0.0, 0.4])  # class 3 = the reject class
    sure = rng.normal(0, 30, (400, 4))  # scenes with spikes: mostly clear answers
    z2 = np.vstack([sure, np.tile(bias_row, (60, 1))])
    y2 = np.concatenate([[rng.choice(4, p=p) for p in softmax(sure / 2)], np.full(60, 3)])
    y2[-3:] = 0  # a few spikeless scenes were a gesture after all
    plain = softmax(bias_row[None], fit_temperature(z2, y2)).max()
    t2, b2 = fit_offsets_and_temperature(z2, y2)
    assert plain < 0.6 < softmax(bias_row[None] / t2 + b2)[0, 3]
    d2, fig2, _ = fit_decision(z2, y2, 3, "test", offsets=True)
    d1, fig1, _ = fit_decision(z2, y2, 3, "test")
    assert fig2["ece_after"] < fig1["ece_after"]


def test_validation_holds_out_whole_subjects_or_every_kth_sample(tmp_path):
    from sast_live.events import SensorSize as Size
    from training.data.datasets import EventDataset
    from training.data.validation import split_validation

    files = tuple(tmp_path / f"{i}.raw" for i in range(40))
    recs = tuple((i % 8, "led") for i in range(40))
    ds = EventDataset("x", files, tuple(i % 4 for i in range(40)), ("a", "b", "c", "d"), Size(128, 128), recs)
    train, val, what = split_validation(ds, 0.25)
    assert {s for s, _ in val.recordings} == {6, 7} and not {s for s, _ in train.recordings} & {6, 7}
    assert len(train) + len(val) == 40 and "subjects [6, 7]" in what
    plain = EventDataset("x", files, tuple(i % 4 for i in range(40)), ("a", "b", "c", "d"), Size(128, 128))
    train, val, _ = split_validation(plain, 0.2)
    assert len(val) == 8 and np.bincount(val.labels).tolist() == [2, 2, 2, 2]
    assert not set(train.files) & set(val.files)


#: the live app's hop (250 ms, 10 bins of the gesture models) over the model's own window (1 s, 40 bins)
WHOLE = PipelineOptions(window_ms=1000, taper="flat")  # the model's own taper may be linear


def test_streaming_windows_are_the_sums_of_a_network_that_runs_on(demo):
    """hop h: every h bins a window over the last n_bins bins; its readout is what one continuous run of the
    simulator accumulates over those bins, and the first window is the fresh-state window of the classic mode."""
    int8 = load_backend(None, PRECISIONS["int8"])
    hop = 10
    streamed = Pipeline(int8, SensorSize(128, 128), WHOLE)
    got = streamed.process(demo) + streamed.finish()
    classic = Pipeline(load_backend(None, PRECISIONS["int8"]), SensorSize(128, 128), TRAINING_WINDOWS)
    first = classic.process(demo)[0]
    full = [w for w in got if not w.partial]
    assert full[0].as_json() == first.as_json()
    assert all(b.t_end_us - a.t_end_us == hop * int8.bin_cfg.bin_us for a, b in zip(full, full[1:], strict=False))
    # one continuous run, the readout taken every bin
    from sast_live.transforms.binning import bin_window
    from tests.test_pipeline import model_input

    t0 = int(demo["t"][0])
    n = (full[-1].t_end_us - t0) // int8.bin_cfg.bin_us
    frames = bin_window(model_input(demo, int8), int8.bin_cfg, t0, n)
    runner = load_backend(None, PRECISIONS["int8"])
    per_bin = []
    for f in frames:
        runner.run(f[None])
        per_bin.append(runner.take_readout()[0])
    per_bin = np.array(per_bin)
    for w in full:
        k = (w.t_end_us - t0) // int8.bin_cfg.bin_us
        assert list(w.scores) == per_bin[k - int8.n_bins:k].sum(0).tolist()
    # the linear taper: hop j of a window's 4 (oldest first) weighs j + 1, in the scores and in the logits' steps
    tapered = Pipeline(load_backend(None, PRECISIONS["int8"]), SensorSize(128, 128),
                       PipelineOptions(window_ms=1000, taper="linear"))
    tfull = [w for w in tapered.process(demo) + tapered.finish() if not w.partial]
    assert [w.t_end_us for w in tfull] == [w.t_end_us for w in full]
    for w in tfull:
        k = (w.t_end_us - t0) // int8.bin_cfg.bin_us
        hops = per_bin[k - int8.n_bins:k].reshape(4, hop, -1).sum(1)
        weighted = (np.arange(1, 5)[:, None] * hops).sum(0)
        assert list(w.scores) == weighted.tolist()
        logits = int8.to_logits(weighted, 10 * hop)
        assert w.top_index == int(np.argmax(logits))
    with pytest.raises(SastLiveError, match="taper"):
        PipelineOptions(taper="cosine")


def test_the_pipeline_reports_no_gesture_as_class_minus_one(demo):
    backend = load_backend(None, PRECISIONS["int8"])
    backend.decision = Decision(min_confidence=1.0)  # nothing is ever sure enough
    pipe = Pipeline(backend, SensorSize(128, 128), WHOLE)
    wins = pipe.process(demo) + pipe.finish()
    assert wins and all(w.class_index == NO_CLASS and w.class_name == NO_GESTURE for w in wins)
    assert all(w.top_index >= 0 and w.as_json()["top_name"] == backend.classes[w.top_index] for w in wins)
    assert pipe.snapshot().verdict == NO_CLASS and pipe.snapshot().verdict_name == NO_GESTURE


def test_the_pipeline_says_unfamiliar_scene_instead_of_a_gesture_and_reports_each_windows_energy(demo):
    backend = load_backend(None, PRECISIONS["int8"])
    backend.decision = Decision(reject_class=backend.decision.reject_class, event_rate=(0.0, 1.0))  # all too busy
    pipe = Pipeline(backend, SensorSize(128, 128), WHOLE)
    wins = pipe.process(demo) + pipe.finish()
    claimed = [w for w in wins if w.top_name != NO_GESTURE]
    assert claimed and all(w.class_index == UNFAMILIAR_CLASS and w.class_name == UNFAMILIAR for w in claimed)
    assert all(w.as_json()["name"] == UNFAMILIAR and w.as_json()["energy"] == pytest.approx(
        float(energy(backend.to_logits(np.asarray(w.scores), w.bins), 1.0)), abs=1e-4) for w in claimed if
        not w.partial)
    assert wins[-1].class_index == UNFAMILIAR_CLASS  # the demo ends inside a gesture
    assert pipe.snapshot().verdict < 0  # the headline names no gesture after an unfamiliar window


def test_a_closed_no_gesture_gate_names_no_gesture_in_the_windows_and_in_the_headline(demo):
    """A gate that closes on everything: every window the demo would name a gesture is answered no gesture, and the
    app's headline (smoothed over bins, the GUI's) holds to it and says why, as it does for an unfamiliar scene."""
    from models.decision import NoGestureGate, gate_closed

    backend = load_backend(None, PRECISIONS["int8"])
    shut = NoGestureGate(np.zeros(64), 50.0, 0.5, 0.02, "a test: always closed")
    plain = backend.decision
    backend.decision = Decision(temperature=plain.temperature, reject_class=plain.reject_class,
                                min_confidence=plain.min_confidence, gate=shut)
    pipe = Pipeline(backend, SensorSize(128, 128), PipelineOptions())
    heads, wins = [], []
    for t in range(250_000, 3_000_001, 250_000):
        wins += pipe.process(demo[(demo["t"] >= t - 250_000) & (demo["t"] < t)])
        heads.append(pipe.snapshot())
    assert wins and all(w.class_index < 0 for w in wins)
    closed = [w for w in wins if gate_closed(backend.decision, w)]
    assert closed and all(w.top_name != NO_GESTURE for w in closed)  # the demo's gestures, each turned away
    assert all(h.verdict < 0 for h in heads)
    assert any("gate closed" in h.explanation.reason for h in heads)


def test_silence_is_no_gesture_when_the_model_has_a_threshold():
    """No events: the readout is the bias alone, and the calibrated bias names the model's own no_gesture class
    with confidence (the per-class offsets fitted in training: a still scene is a sure "no gesture")."""
    backend = load_backend(None, PRECISIONS["int8"])
    pipe = Pipeline(backend, SensorSize(128, 128), WHOLE)
    from sast_live.events import make_events

    ev = make_events([0, 2_000_000], [5, 5], [5, 5], [1, 1])
    wins = pipe.process(ev) + pipe.finish()
    assert wins and all(w.class_index == NO_CLASS and w.top_name == NO_GESTURE for w in wins)
    assert all(w.confidence > 0.6 for w in wins if not w.partial)


def test_a_shorter_streaming_window_sums_fewer_hops(demo):
    backend = load_backend(None, PRECISIONS["int8"])
    pipe = Pipeline(backend, SensorSize(128, 128), PipelineOptions(window_ms=500))
    full = [w for w in pipe.process(demo) + pipe.finish() if not w.partial]
    assert full and all(w.t_end_us - w.t_start_us == 500_000 and w.bins == 20 for w in full)
    with pytest.raises(SastLiveError, match="at least one hop"):
        PipelineOptions(window_ms=125)


def test_a_stream_shorter_than_a_window_still_gets_a_prediction(demo):
    backend = load_backend(None, PRECISIONS["int8"])
    t0 = int(demo["t"][0])
    for end in (500_000, 512_345):  # on a hop boundary, and inside a hop
        pipe = Pipeline(backend, SensorSize(128, 128), WHOLE)
        wins = pipe.process(demo[demo["t"] < t0 + end]) + pipe.finish()
        assert len(wins) == 1 and wins[0].partial and wins[0].t_start_us == t0


def test_switching_to_a_model_with_other_classes_keeps_the_pipeline_running(demo, tmp_path):
    """From the 12-class model to an 11-class one mid-stream: the smoothed confidences start over."""
    import json
    import shutil

    from tests.test_wire import REPO

    zoo = REPO / "models" / "zoo" / "gestures-sast"
    other = tmp_path / "eleven"
    other.mkdir()
    meta = json.loads((zoo / "model.json").read_text())
    from safetensors.numpy import load_file, save_file

    tensors = load_file(str(zoo / "model.safetensors"))
    tensors["model.readout.weight"] = tensors["model.readout.weight"][:11]
    if "model.readout.bias" in tensors:
        tensors["model.readout.bias"] = tensors["model.readout.bias"][:11]
    meta["model_cfg"]["n_classes"], meta["model_cfg"]["classes"] = 11, meta["model_cfg"]["classes"][:11]
    meta.pop("decision")
    save_file(tensors, str(other / "model.safetensors"))
    (other / "model.json").write_text(json.dumps(meta))
    shutil.copy(zoo / "metrics.jsonl", other)
    for hop in (0, 250):
        pipe = Pipeline(load_backend(None, PRECISIONS["int8"]), SensorSize(128, 128), PipelineOptions(hop_ms=hop))
        half = len(demo) // 2
        pipe.process(demo[:half])
        pipe.set_backend(load_backend(other / "model", PRECISIONS["int8"]))
        wins = pipe.process(demo[half:]) + pipe.finish()
        snap = pipe.snapshot()
        assert len(snap.classes) == len(snap.smoothed) == 11 and wins[-1].class_name in snap.classes


def test_the_app_streams_with_the_window_stored_in_the_models_decision():
    """PipelineOptions: the model decision's window and taper unless --window-ms/--taper say otherwise."""
    from dataclasses import replace


    backend = load_backend(None, PRECISIONS["int8"])
    backend.decision = replace(backend.decision, window_ms=750, taper="linear")
    app = PipelineOptions()
    assert app.window_bins(backend) == 30 and app.taper_for(backend) == "linear"
    assert PipelineOptions(window_ms=500, taper="flat").window_bins(backend) == 20
    assert PipelineOptions(taper="flat").taper_for(backend) == "flat"
    assert PipelineOptions(hop_ms=0).window_bins(backend) is None  # back-to-back windows: the model's own
    backend.decision = replace(backend.decision, window_ms=None, taper="flat")
    assert app.window_bins(backend) is None and app.taper_for(backend) == "flat"
    assert Decision.from_dict({"window_ms": 500, "taper": "linear"}, ("a",)).to_dict()["window_ms"] == 500
