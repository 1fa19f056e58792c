"""The convex reconstruction in several processes (torchrun, gloo): each holds a share of the dictionary's rows and
the solver adds their sums, so two processes reach the readout one process reaches."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from safetensors.numpy import load_file

from sast_live.errors import SastLiveError
from training.convex.shards import Rows, local_rows, share

REPO = Path(__file__).resolve().parents[1]
#: 60 steps a beta: what is compared is the path two processes take, not the optimum
ARGS = ["train", "--method", "cvx", "--dataset", "xor", "--length", "4", "--branches", "64", "--n-train", "300",
        "--n-test", "100", "--max-iter", "60", "--quiet"]


def test_the_shares_cover_every_sample_once_in_order():
    for n, world in [(10, 1), (10, 3), (7, 7), (1001, 4)]:
        parts = [share(n, r, world) for r in range(world)]
        assert np.array_equal(np.concatenate(parts), np.arange(n))
        assert max(map(len, parts)) - min(map(len, parts)) <= 1
    with pytest.raises(SastLiveError, match="3 samples cannot be split over 4 processes"):
        share(3, 0, 4)
    # one process: its rows are all the rows, and sums stay local
    assert local_rows(12, 1) == Rows(12, 1) and Rows(12).total(2.5) == 2.5


def _run(cmd, tmp_path):
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONPATH=str(REPO))
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=600, env=env, cwd=REPO)
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


@pytest.mark.slow
def test_two_processes_reach_the_readout_of_one(tmp_path, capsys):
    from tests.conftest import main_in_process

    one = json.loads(main_in_process(capsys, *ARGS, "--out", tmp_path / "one").stdout)  # this process: one
    out = _run([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
                str(REPO / "main.py"), *ARGS, "--out", str(tmp_path / "two")], tmp_path)
    two = json.loads(out)  # one summary: the first process's (the other writes nothing)
    assert one["processes"] == 1 and two["processes"] == 2
    assert two["dictionary_bytes"] == one["dictionary_bytes"]  # the shares add up to the whole dictionary
    assert two["accuracy"] == one["accuracy"] and two["kept_branches"] == one["kept_branches"]
    path1, path2 = (json.loads((tmp_path / d / "path.json").read_text()) for d in ("one", "two"))
    for a, b in zip(path1, path2, strict=True):  # every beta of the path: the same steps to the same point
        assert a.get("chosen") == b.get("chosen") and a["val_acc"] == b["val_acc"] and a["active"] == b["active"]
        assert b["iterations"] == a["iterations"] and b["primal"] == pytest.approx(a["primal"], rel=1e-6)
        assert b["dual"] == pytest.approx(a["dual"], rel=1e-6, abs=1e-9)
    w1, w2 = (load_file(str(tmp_path / d / "model.safetensors")) for d in ("one", "two"))
    assert w1.keys() == w2.keys()
    for k in w1:  # equal up to the order of float additions
        np.testing.assert_allclose(w2[k], w1[k], rtol=1e-4, atol=1e-5, err_msg=k)


def test_the_comparison_table_refuses_several_processes(monkeypatch, tmp_path):
    from training.convex.compare import compare
    from training.convex.config import ReconConfig

    monkeypatch.setenv("WORLD_SIZE", "2")
    with pytest.raises(SastLiveError, match="compare runs in one process"):
        compare(ReconConfig(dataset="xor", out=str(tmp_path / "c")), 1, 1e-3, 0.1, str(tmp_path / "c"))
    assert not (tmp_path / "c").exists()
