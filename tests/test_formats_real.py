"""Every real recording in shared/data/real is read, with its event counts pinned (SOURCES.md)."""

from __future__ import annotations

import numpy as np
import pytest

from sast_live.events import EVENT_DTYPE, SensorSize
from sast_live.formats.registry import file_info, open_events

# file: (format, events, off, on, sensor, t_first, t_last)  -- EVT3 times are spec-decoded (not expelliarmus')
PINNED = {
    "expelliarmus/sparklers.raw": ("EVT2", 521_252, 335_391, 185_861, (640, 480), 913_716_224, 913_812_095),
    "expelliarmus/evt2_sample.raw": ("EVT2", 539_481, 171_626, 367_855, (640, 480), 1_317_888, 1_367_888),
    "expelliarmus/evt3_sample.raw": ("EVT3", 219_596, 104_064, 115_532, (1280, 720), 11_718_656, 11_727_457),
    "expelliarmus/evt3_test_pedestrians.raw": ("EVT3", 5_000, 2_106, 2_894, (1280, 720), 5_840_504, 5_885_714),
    "expelliarmus/NCARS_obj_004397_td.dat": ("DAT", 4_407, 2_736, 1_671, None, 0, 99_937),
    "tonic/sample_ncars.dat": ("DAT", 2_009, 659, 1_350, None, 0, 99_952),
    "tonic/sample_nmnist.bin": ("NMNIST", 4_325, 2_180, 2_145, (34, 34), 654, 311_175),
    "tonic/sample.aedat4": ("AEDAT4", 111_954, 56_931, 55_023, (320, 240),
                            1_605_537_493_718_345, 1_605_537_494_308_262),
}


@pytest.mark.parametrize("name", sorted(PINNED))
def test_real_file_counts(real_dir, name):
    fmt, n, off, on, sensor, t0, t1 = PINNED[name]
    info = file_info(real_dir / name)
    assert info["format"] == fmt
    assert (info["events"], info["off"], info["on"]) == (n, off, on)
    assert (info["t_first"], info["t_last"]) == (t0, t1)
    got = None if info["width"] is None else (info["width"], info["height"])
    assert got == sensor


@pytest.mark.parametrize("name", sorted(PINNED))
def test_chunked_equals_whole_and_windows_cover(real_dir, name):
    reader = open_events(real_dir / name, chunk_events=777)
    chunks = list(reader.chunks())
    assert all(len(c) <= 777 for c in chunks)
    whole = open_events(real_dir / name).read()
    assert whole.dtype == EVENT_DTYPE
    assert np.array_equal(np.concatenate(chunks), whole)
    windows = list(reader.windows(10_000))
    assert sum(len(ev) for _, _, ev in windows) == len(whole)
    assert all(t1 - t0 == 10_000 for t0, t1, _ in windows)
    starts = [t0 for t0, _, _ in windows]
    assert starts == list(range(starts[0], starts[0] + 10_000 * len(starts), 10_000))


def test_all_real_nmnist_digits(real_dir):
    """All 1,100 .bs2 digits decode: 34x34, ~0.3 s, event counts inside the ranges SOURCES.md gives."""
    folder = real_dir / "slayer-nmnist" / "NMNISTsmall"
    files = sorted(folder.glob("*.bs2"))
    assert len(files) == 1100
    counts = []
    for f in files:
        r = open_events(f)
        ev = r.read()
        assert r.sensor_size == SensorSize(34, 34)
        assert ev["x"].max() <= 33 and ev["y"].max() <= 33
        assert 296_000 <= ev["t"][-1] <= 337_000
        counts.append(len(ev))
    train = counts[:0]
    ids = [int(f.stem) for f in files]
    train = [c for i, c in zip(ids, counts, strict=True) if i <= 1000]
    test = [c for i, c in zip(ids, counts, strict=True) if i > 60000]
    assert (min(train), max(train), int(np.median(train))) == (1112, 7152, 4180)
    assert (min(test), max(test)) == (1069, 6326)
