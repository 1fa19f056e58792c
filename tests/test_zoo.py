"""The shipped checkpoints load without pickle and reproduce their committed reports."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from models.checkpoint import load_model
from models.networks import model_summary
from training.data.resolve import resolve_datasets
from training.frames import FrameCache
from training.train import evaluate_accuracy

ZOO = Path(__file__).resolve().parents[1] / "models" / "zoo"
NAMES = ["nmnist-real-baseline", "nmnist-real-sast", "gestures-baseline", "gestures-sast"]


@pytest.mark.parametrize("name", NAMES)
def test_zoo_checkpoint_is_complete(name):
    model, meta = load_model(ZOO / name / "model")
    assert model_summary(model)["int8_bytes"] < 40_000
    report = json.loads((ZOO / name / "eval" / "report.json").read_text())
    assert set(report["accuracy"]) == {"surrogate", "hard", "transfer_gap"}
    assert meta["train_cfg"]["method"] == ("sast" if name.endswith("sast") else "surrogate")


@pytest.mark.parametrize("name", ["nmnist-real-baseline", "nmnist-real-sast"])
def test_nmnist_zoo_reproduces_its_report(real_dir, name):
    model, _ = load_model(ZOO / name / "model")
    report = json.loads((ZOO / name / "eval" / "report.json").read_text())
    _, test = resolve_datasets("nmnist-real", progress=False)
    cache = FrameCache(test, model.cfg)
    for mode in ("surrogate", "hard"):
        assert evaluate_accuracy(model, cache, mode, "cpu") == pytest.approx(report["accuracy"][mode])
