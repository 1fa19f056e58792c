"""DVS pixel model (numba == reference, continuation == whole), synthetic datasets and their loader."""

from __future__ import annotations

import json

import numpy as np
import pytest

from sast_live.errors import SastLiveError
from sast_live.formats.registry import file_info
from sast_live.synthetic import gestures as synth_gestures
from sast_live.synthetic import nmnist as synth_nmnist
from sast_live.synthetic.dvs_sim import DVSConfig, _interval_reference, simulate
from sast_live.synthetic.render import render_capsules, render_capsules_reference
from training.data.datasets import open_dataset
from training.data.synth import synth_dataset


def moving_square(T=60):
    frames = np.full((T, 20, 24), 0.1)
    for k in range(T):
        frames[k, 5:12, 2 + k // 6 : 9 + k // 6] = 1.0
    return frames, np.arange(T, dtype=np.int64) * 1000


def test_dvs_kernel_equals_reference_and_continuation_equals_whole():
    frames, t = moving_square()
    cfg = DVSConfig(threshold=0.2, refractory_us=300, noise_hz=5.0)
    ev, _ = simulate(frames, t, cfg, seed=3)
    ref, _ = simulate(frames, t, cfg, seed=3, kernel=_interval_reference)
    assert np.array_equal(ev, ref) and len(ev) > 100
    a, state = simulate(frames[:25], t[:25], cfg, seed=3)
    b, _ = simulate(frames[25:], t[25:], cfg, seed=3, state=state)
    assert np.array_equal(np.concatenate([a, b]), ev)


def test_dvs_physics():
    """Brightening gives ON events, darkening OFF; counts follow log contrast / threshold; refractory holds."""
    T = 11
    up = np.linspace(0.1, 0.1 * np.e**2.1, T)[:, None, None] * np.ones((T, 4, 4))  # +2.1 in log units
    t = np.arange(T, dtype=np.int64) * 10_000
    cfg = DVSConfig(threshold=0.25, mismatch=0.0, refractory_us=0, noise_hz=0.0, eps=0.0)
    ev, _ = simulate(up, t, cfg)
    assert set(ev["p"].tolist()) == {1}
    assert len(ev) == 16 * 8  # floor(2.1 / 0.25) crossings in each of 16 pixels
    down, _ = simulate(up[::-1].copy(), t, cfg)
    assert set(down["p"].tolist()) == {0} and len(down) == 16 * 8
    slow, _ = simulate(up, t, DVSConfig(threshold=0.25, mismatch=0.0, refractory_us=30_000, noise_hz=0.0, eps=0.0))
    per_pixel = np.bincount(slow["y"] * 4 + slow["x"])
    assert np.all(np.diff(np.sort(slow["t"][(slow["x"] == 0) & (slow["y"] == 0)])) >= 30_000)
    assert per_pixel.max() < 8


def test_render_numba_equals_numpy():
    caps = np.array([[10.2, 5.5, 40.7, 30.1, 3.5], [60.0, 60.0, 60.0, 60.0, 7.0], [-5, 100, 30, 140, 4.0]])
    bg = np.random.default_rng(0).uniform(0.2, 0.3, (128, 128))
    a, b = np.empty_like(bg), np.empty_like(bg)
    render_capsules(caps, 0.85, bg, a)
    render_capsules_reference(caps, 0.85, bg, b)
    assert np.allclose(a, b, atol=1e-12)


@pytest.mark.slow
def test_synthetic_nmnist_sample_looks_like_nmnist(real_dir):
    ev = synth_nmnist.make_sample(7, 0, seed=1)
    assert ev["x"].max() <= 33 and ev["y"].max() <= 33
    assert 280_000 <= ev["t"][-1] <= 330_000  # ≈300 ms, like the real recordings
    assert 1_000 <= len(ev) <= 12_000  # real N-MNIST digits hold 1,069–7,152 events
    # three saccades: activity drops between them (the eased stops), like the real recordings
    hist = np.histogram(ev["t"], bins=30, range=(0, 300_000))[0]
    assert hist[[0, 10, 20]].sum() < hist[[5, 15, 25]].sum()


@pytest.mark.parametrize("cls", range(11))
def test_synthetic_gestures_classes(cls):
    ev = synth_gestures.make_sample(cls, seed=10 + cls, duration_s=1.0)
    assert len(ev) > 1000 and ev["x"].max() < 128 and ev["y"].max() < 128
    assert 900_000 <= ev["t"][-1] <= 1_000_000


def test_gesture_samples_vary_and_last_1_to_6_s():
    durations = [synth_gestures.sample_params(0, np.random.default_rng(s))["duration_s"] for s in range(50)]
    assert 1.0 <= min(durations) and max(durations) <= 6.0 and np.std(durations) > 0.5
    a = synth_gestures.make_sample(4, seed=1, duration_s=1.0)
    b = synth_gestures.make_sample(4, seed=2, duration_s=1.0)
    assert abs(float(a["x"].mean()) - float(b["x"].mean())) > 0.5 or len(a) != len(b)


@pytest.mark.slow
def test_synth_cli_layout_loader_and_resume(tmp_path):
    out = tmp_path / "ds"
    synth_dataset("nmnist", out, n_per_class=2, seed=5, progress=False)
    meta = json.loads((out / "meta.json").read_text())
    assert meta["classes"] == list("0123456789") and meta["splits"] == {"train": 20, "test": 20}
    train = open_dataset(out, "train")
    assert len(train) == 20 and train.class_counts().tolist() == [2] * 10
    ev, label = train[13]
    assert label == 6 and file_info(train.files[13])["width"] == 34 and len(ev) > 500
    first = train.files[0].read_bytes()
    train.files[0].unlink()  # an interrupted run: the missing sample is regenerated identically
    (out / "meta.json").unlink()
    with pytest.raises(SastLiveError, match="meta.json"):
        open_dataset(out, "train")
    synth_dataset("nmnist", out, n_per_class=2, seed=5, progress=False)
    assert train.files[0].read_bytes() == first
    with pytest.raises(SastLiveError, match="already holds"):
        synth_dataset("nmnist", out, n_per_class=2, seed=6, progress=False)


def test_synth_of_some_classes_writes_the_files_a_whole_run_writes_for_them(tmp_path):
    """``data synth --classes``: only those classes, byte for byte the files a whole run writes for them, loaded as
    a dataset whose class list is the whole one; an unknown class, or adding a whole run to the folder, is refused."""
    from training.data.resolve import only_classes

    whole, some = tmp_path / "whole", tmp_path / "some"
    synth_dataset("nmnist", whole, n_per_class=1, seed=5, split="test", progress=False)
    synth_dataset("nmnist", some, n_per_class=1, seed=5, split="test", progress=False, classes=["3", "7"])
    meta = json.loads((some / "meta.json").read_text())
    assert meta["splits"] == {"test": 2} and meta["written"] == ["3", "7"] and meta["classes"] == list("0123456789")
    ds = open_dataset(some, "test")
    assert list(ds.labels) == [3, 7] and ds.classes == tuple("0123456789")
    full = open_dataset(whole, "test")
    for f, y in zip(ds.files, ds.labels, strict=True):
        assert f.read_bytes() == full.files[list(full.labels).index(y)].read_bytes()
    assert list(only_classes(ds, ["7"], "some:7").labels) == [7]
    with pytest.raises(SastLiveError, match="no class x"):
        synth_dataset("nmnist", tmp_path / "bad", n_per_class=1, split="test", progress=False, classes=["x"])
    with pytest.raises(SastLiveError, match="needs another --out"):
        synth_dataset("nmnist", some, n_per_class=1, seed=5, split="test", progress=False)


def test_loader_reads_real_nmnist_small(real_dir):
    folder = real_dir / "slayer-nmnist" / "NMNISTsmall"
    train, test = open_dataset(folder, "train"), open_dataset(folder, "test")
    assert (len(train), len(test)) == (1000, 100)
    assert train.class_counts().tolist() == [97, 116, 99, 93, 105, 92, 94, 117, 87, 100]
    assert test.class_counts().tolist() == [8, 14, 8, 11, 14, 7, 10, 15, 2, 11]
    assert train.labels[:10] == (5, 0, 4, 1, 9, 2, 1, 3, 1, 4)
    ev, label = test[0]
    assert label == 7 and len(ev) > 1000


def test_loader_reads_tonic_layouts(tmp_path, real_dir):
    import shutil

    nm = tmp_path / "NMNIST" / "Train" / "4"
    nm.mkdir(parents=True)
    shutil.copy(real_dir / "tonic" / "sample_nmnist.bin", nm / "00003.bin")
    ds = open_dataset(tmp_path, "train")
    assert len(ds) == 1 and ds.labels == (4,) and len(ds[0][0]) == 4325
    g = tmp_path / "g" / "DVSGesture" / "ibmGestureTest" / "user24_led"
    g.mkdir(parents=True)
    np.save(g / "9.npy", np.array([[1.0, 2.0, 1.0, 0.5], [3.0, 4.0, 0.0, 1.25]]))
    gs = open_dataset(tmp_path / "g", "test")
    assert gs.labels == (9,) and gs[0][0]["t"].tolist() == [500, 1250] and gs.classes[9] == "air_guitar"


def test_demo_recording_is_committed_and_small():
    from training.data.make_demo import DEMO

    info = file_info(DEMO)
    assert DEMO.stat().st_size < 5 * 2**20
    assert (info["width"], info["height"]) == (128, 128) and info["events"] > 50_000
    assert 5_000_000 < info["duration_us"] < 25_000_000  # 7 gestures, a pause, a change of light: 20.5 s


@pytest.mark.slow
def test_parallel_generation_writes_identical_files(tmp_path):
    synth_dataset("nmnist", tmp_path / "a", n_per_class=1, split="test", progress=False, workers=1)
    synth_dataset("nmnist", tmp_path / "b", n_per_class=1, split="test", progress=False, workers=2)
    a = sorted((tmp_path / "a").rglob("*.raw"))
    b = sorted((tmp_path / "b").rglob("*.raw"))
    assert len(a) == len(b) == 10
    assert all(x.read_bytes() == y.read_bytes() for x, y in zip(a, b, strict=True))
