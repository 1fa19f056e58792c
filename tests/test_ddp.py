"""torchrun with 2 CPU processes (gloo) gives the same SAST update as one process on the joined batch."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from models.checkpoint.weights import load_model
from models.networks import build_model
from training.config import TrainConfig
from training.train import train

REPO = Path(__file__).resolve().parents[1]
ARGS = ["--dataset", "nmnist-real", "--method", "sast", "--rho", "0.3", "--epochs", "1", "--batch-size", "16",
        "--limit-train", "32", "--limit-test", "8", "--n-bins", "5", "--seed", "4", "--quiet"]


def load(path):
    return load_model(path)[0]


@pytest.mark.slow
def test_two_gloo_processes_equal_one_process(tmp_path, real_dir):
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONPATH=str(REPO))
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
           str(REPO / "main.py"), "train", *ARGS, "--out", str(tmp_path / "ddp")]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=600, env=env, cwd=REPO)
    assert r.returncode == 0, r.stderr[-3000:]
    train(TrainConfig(dataset="nmnist-real", method="sast", rho=0.3, epochs=1, batch_size=16, limit_train=32,
                      limit_test=8, n_bins=5, seed=4, out=str(tmp_path / "one"), progress=False))
    ddp, one = load(tmp_path / "ddp" / "model"), load(tmp_path / "one" / "model")
    torch.manual_seed(4)
    start = build_model(one.cfg)  # the common initialisation (the trainer seeds the same way)
    moved = 0.0
    for (name, a), (_, b), (_, s) in zip(ddp.state_dict().items(), one.state_dict().items(),
                                         start.state_dict().items(), strict=True):
        assert torch.allclose(a, b, atol=1e-5, rtol=1e-4), name  # equal up to float summation order
        moved = max(moved, float((b - s).abs().max()))
    assert moved > 1e-3  # the comparison is not between two untrained networks
