"""Evaluation pieces: SynOps against a dense formula, ECE by hand, and a tiny end-to-end report."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from models.config import gesture_config, nmnist_config
from models.networks import build_model
from training.metrics import expected_calibration_error, spike_stats


@pytest.mark.parametrize("make", [nmnist_config, gesture_config])
def test_synops_equal_dense_formula(make):
    """Event-driven count (spikes × fan-out maps) == dense count (each layer's input through all-ones
    kernels: every output position adds one synaptic op per active input in its receptive field)."""
    torch.manual_seed(0)
    model = build_model(make())
    with torch.no_grad():
        for conv in model.convs:
            conv.weight.mul_(8)  # enough activity to spike in every layer
    cfg = model.cfg
    x = (torch.rand(5, 3, 2, *cfg.in_size) < 0.15).float() * torch.randint(1, 3, (5, 3, 2, *cfg.in_size))
    stats = spike_stats(model, x, "hard")
    _, spikes = model(x, "hard", record=True)
    dense = []
    inputs = [x] + spikes
    for k, conv in enumerate(model.convs):
        inp = inputs[k].flatten(0, 1).sum(1, keepdim=True)  # all input channels share one fan-out map
        ones = torch.ones(1, 1, *conv.kernel_size)
        dense.append(float(F.conv2d(inp, ones, stride=conv.stride, padding=conv.padding).sum()) * conv.out_channels
                     / x.shape[1])
    dense.append(float(spikes[-1].sum()) * cfg.n_classes / x.shape[1])
    assert all(s > 0 for s in dense)
    assert np.allclose(stats["synops_per_layer"], dense)


def test_ece_by_hand():
    probs = np.array([[0.9, 0.1], [0.8, 0.2], [0.6, 0.4], [0.3, 0.7]])
    labels = np.array([0, 1, 0, 1])
    ece, table = expected_calibration_error(probs, labels, n_bins=2)  # bins (0, .5], (.5, 1]
    # all four confidences (.9, .8, .6, .7) fall in the upper bin: mean conf .75, accuracy 3/4
    assert ece == pytest.approx(0.0)
    ece, _ = expected_calibration_error(probs, np.array([1, 1, 1, 0]), n_bins=2)
    assert ece == pytest.approx(0.75)  # predictions 0, 0, 0, 1 are all wrong: accuracy 0 at confidence .75
    assert sum(table["count"]) == 4


@pytest.mark.slow
def test_evaluate_tiny_checkpoint(tmp_path, real_dir):
    from training.config import TrainConfig
    from training.evaluation.report import EvalConfig, evaluate
    from training.train import train

    final = train(TrainConfig(dataset="nmnist-real", method="surrogate", epochs=1, batch_size=16, limit_train=32,
                              limit_test=10, n_bins=5, out=str(tmp_path / "run"), progress=False))
    report = evaluate(EvalConfig(str(tmp_path / "run" / "model"), out=str(tmp_path / "ev"), limit_test=10,
                                 corruptions=("event_drop", "spatial_shift"), severities=(1, 5), progress=False))
    saved = json.loads((tmp_path / "ev" / "report.json").read_text())
    assert saved["accuracy"] == report["accuracy"]
    # the same 10 test digits through the report's path and the trainer's: the same accuracies
    assert report["accuracy"]["surrogate"] == pytest.approx(final["test_acc_surrogate"])
    assert report["accuracy"]["hard"] == pytest.approx(final["test_acc_hard"])
    assert set(report["robustness"]) == {"event_drop", "spatial_shift"}
    for name in ("report.md", "reliability.png", "robustness.png"):
        assert (tmp_path / "ev" / name).stat().st_size > 100


def test_evaluate_on_the_validation_subjects_reads_only_them(tmp_path, tiny_gestures_v2):
    """--split validation: the training split's held-out subjects (the checkpoint's own --validation share), so
    models can be compared without the test set; a checkpoint trained without one is told so."""
    from sast_live.errors import SastLiveError
    from tests.conftest import REPO
    from training.data.resolve import resolve_split
    from training.data.validation import split_validation
    from training.evaluation.report import EvalConfig, evaluate

    zoo = REPO / "models" / "zoo"
    _, val, _ = split_validation(resolve_split(str(tiny_gestures_v2), "train", progress=False), 0.13)
    report = evaluate(EvalConfig(str(zoo / "gestures-sast" / "model"), dataset=str(tiny_gestures_v2),
                                 out=str(tmp_path / "ev"), corruptions=(), progress=False, split="validation"))
    assert report["split"] == "validation" and report["n_test"] == len(val) == 2
    assert "2 validation samples" in (tmp_path / "ev" / "report.md").read_text()
    with pytest.raises(SastLiveError, match="without a validation split"):
        evaluate(EvalConfig(str(zoo / "nmnist-real-sast" / "model"), out=str(tmp_path / "ev2"), corruptions=(),
                            progress=False, split="validation"))
    with pytest.raises(SastLiveError, match="--split must be"):
        EvalConfig("x", split="train")
