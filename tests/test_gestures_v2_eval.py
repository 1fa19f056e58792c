"""End to end on a tiny gestures-v2 set: training with a subject-held-out validation split stores a fitted
decision in model.json, and evaluate reports accuracy per test subject, per lighting and per class, what the
decision rule does, and a confusion matrix — at float hard and INT8."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.torch import load_file

from sast_live.synthetic import people

REPO = Path(__file__).resolve().parents[1]
MAIN = [sys.executable, str(REPO / "main.py")]


def run(*args):
    done = subprocess.run(MAIN + list(args), capture_output=True, text=True, cwd=REPO, timeout=900)
    assert done.returncode == 0, done.stderr[-2000:]
    return done


@pytest.mark.slow
def test_train_with_validation_then_evaluate_per_subject_and_lighting(tmp_path, tiny_gestures_v2):
    data = tiny_gestures_v2
    run("train", "--dataset", str(data), "--method", "sast", "--rho", "0.1", "--epochs", "1", "--validation", "0.25",
        "--augment", "--out", str(tmp_path / "run"), "--quiet")
    meta = json.loads((tmp_path / "run" / "model.json").read_text())
    d = meta["decision"]
    assert d["reject_class"] == people.IDLE and 0.01 <= d["temperature"] <= 50 and "subjects" in d["fitted_on"]
    held = [int(s) for s in d["fitted_on"].split("[")[1].split("]")[0].split(",")]
    assert held and all(s in people.TRAIN_SUBJECTS for s in held)
    # a handful of validation samples: the temperature alone (offsets need 20 per class)
    trained = load_file(str(tmp_path / "run" / "last.safetensors"))["model.readout.bias"]
    shipped = load_file(str(tmp_path / "run" / "model.safetensors"))["model.readout.bias"]
    assert "logit_offsets" not in meta["calibration"] and torch.equal(shipped, trained)
    # with offsets (the threshold lowered), they are folded into the readout bias, exactly
    from models.checkpoint.weights import load_model
    from training.data.frames import FrameCache
    from training.data.resolve import resolve_split
    from training.data.validation import split_validation
    from training.decision.calibration import calibrate

    net, _ = load_model(tmp_path / "run" / "model")
    _, val, what = split_validation(resolve_split(str(data), "train", None, False), 0.25)
    before = net.readout.bias.detach().clone()
    decision, figures = calibrate(net, net.cfg, FrameCache(val, net.cfg), what, min_per_class=0)
    assert len(figures["logit_offsets"]) == 12 and "per-class offsets" in decision.fitted_on
    assert np.allclose((net.readout.bias.detach() - before).numpy(), figures["logit_offsets"], atol=1e-5)
    # recalibrating the finished checkpoint is training's last step again: the same decision, the same bias
    done = run("calibrate", str(tmp_path / "run" / "model"), "--quiet")
    assert f"T {d['temperature']:.3f}" in done.stdout
    again = json.loads((tmp_path / "run" / "model.json").read_text())
    assert again["decision"] == d and again["calibration"] == meta["calibration"]
    assert torch.equal(load_file(str(tmp_path / "run" / "model.safetensors"))["model.readout.bias"], shipped)
    # a no-gesture gate (teach-bank --gate) reads only the hidden layers' spikes: recalibrating keeps it
    gate = {"weights": [i / 100 for i in range(64)], "bias": -1.0, "limit": 0.8, "lost": 0.02, "fitted_on": "a test"}
    again["decision"]["gate"] = gate
    (tmp_path / "run" / "model.json").write_text(json.dumps(again))
    run("calibrate", str(tmp_path / "run" / "model"), "--quiet")
    kept = json.loads((tmp_path / "run" / "model.json").read_text())["decision"]
    assert kept["gate"] == gate and {k: v for k, v in kept.items() if k != "gate"} == d
    run("evaluate", str(tmp_path / "run" / "model"), "--hardware", "int8", "--no-corruptions", "--live", "--out",
        str(tmp_path / "ev"), "--quiet")
    report = json.loads((tmp_path / "ev" / "report.json").read_text())
    b = report["breakdown"]
    assert set(b) == {"hard", "int8"}
    meta_rec = json.loads((data / "meta.json").read_text())["recordings"]["test"]
    subjects = {str(meta_rec[c][0][0]) for c in range(12)}
    assert set(b["int8"]["by_subject"]) == subjects and set(subjects) <= {str(s) for s in people.TEST_SUBJECTS}
    assert sum(v["n"] for v in b["int8"]["by_lighting"].values()) == 12
    assert set(b["int8"]["by_class"]) == set(people.CLASSES)
    assert sum(map(sum, report["confusion"]["int8"])) == 12
    assert "gestures_rejected" in report["decision_effect"]["int8"]
    assert (tmp_path / "ev" / "confusion.png").stat().st_size > 5000
    md = (tmp_path / "ev" / "report.md").read_text()
    assert "| test subject |" in md and "| lighting |" in md and "confusion.png" in md
    live = report["live"]
    assert live["hop_ms"] == 250 and live["demo"]["n_gestures"] == 7 and live["demo"]["pauses"]
    scenes = live["no_gesture"]
    want = {"silence", "noise 5 Hz", "hot pixels", "sparklers (EVT2), centre crop, looped (training side)",
            "pedestrians (EVT3), centre crop, looped", "person, head and shoulders (DVXplorer), looped"}
    assert want <= set(scenes)
    assert all(r["windows"] >= 12 and 0 <= r["claims_at_80"] <= r["claims"] <= r["windows"] for r in scenes.values())
    assert "Scenes with no gesture" in md
    # the split's own no-gesture recordings, each streamed whole: tallied per dataset folder
    streamed = live["streamed"]
    assert set(streamed) == {data.name} and streamed[data.name]["recordings"] == 1
    r = streamed[data.name]
    assert r["windows"] >= 1 and 0 <= r["claims_at_80"] <= r["claims"] <= r["windows"]
    assert "streamed whole" in md
    # on the validation split: the same, but never the demo (a test subject) nor a held-out real scene
    run("evaluate", str(tmp_path / "run" / "model"), "--split", "validation", "--no-corruptions", "--live", "--out",
        str(tmp_path / "val"), "--quiet")
    val = json.loads((tmp_path / "val" / "report.json").read_text())["live"]
    assert val["demo"] is None and not val["demo_variants"]
    assert "sparklers (EVT2), centre crop, looped (training side)" in val["no_gesture"] and "silence" in val[
        "no_gesture"]
    from training.evaluation.no_gesture import is_held_out

    assert any(is_held_out(k) for k in scenes) and not any(is_held_out(k) for k in val["no_gesture"])
    _, vsplit, _ = split_validation(resolve_split(str(data), "train", None, False), 0.25)
    n_idle = sum(y == people.IDLE for y in vsplit.labels)  # the validation subjects' no-gesture recordings (maybe 0)
    assert val["streamed"].get(data.name, {"recordings": 0})["recordings"] == n_idle
    vmd = (tmp_path / "val" / "report.md").read_text()
    assert "leaves out the demo" in vmd and "The bundled demo" not in vmd
