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


@pytest.mark.parametrize("name", ["expelliarmus/sparklers.raw", "expelliarmus/evt2_sample.raw"])
def test_our_evt2_decoder_equals_expelliarmus_event_for_event(real_dir, name):
    """EVT2 is decoded by our one-pass numba codec (checks included); on the real files every event equals what
    expelliarmus' C decoder reads (EVT2 is where expelliarmus is right; EVT3 is not)."""
    from expelliarmus import Wizard

    ours = open_events(real_dir / name, chunk_events=50_000).read()
    theirs = Wizard(encoding="evt2").read(str(real_dir / name))
    assert len(ours) == len(theirs) == PINNED[name][1]
    for field in ("t", "x", "y", "p"):
        np.testing.assert_array_equal(ours[field], theirs[field].astype(ours[field].dtype), err_msg=field)


def _evt2_body(words) -> bytes:
    return b"% format EVT2;height=8;width=8\n% end\n" + np.asarray(words, "<u4").tobytes()


def _cd(kind, low, x, y):
    return (kind << 28) | (low << 22) | (x << 11) | y


@pytest.mark.parametrize("words,index,message", [  # index: the bad word
    ([0x8 << 28 | 5, _cd(1, 3, 2, 2), 0x3 << 28], 2, "reserved EVT2 word type 0x3"),
    ([0x8 << 28 | 5, _cd(1, 3, 2, 2), _cd(0, 2, 2, 2)], 1, "timestamps decrease"),
    ([0x8 << 28 | 5, _cd(1, 3, 2, 2), _cd(0, 4, 9, 2)], 1, "outside the 8x8 sensor"),
])
def test_corrupt_evt2_words_are_named_with_their_offset(tmp_path, words, index, message):
    from sast_live.errors import EventFormatError

    path = tmp_path / "bad.raw"
    path.write_bytes(_evt2_body(words))
    header = len(_evt2_body([]))
    with pytest.raises(EventFormatError, match=message) as err:
        open_events(path).read()
    # a reserved word: its own offset; an event out of order or bounds: the offset of the block it was read in
    assert err.value.offset == (header + 4 * index if "reserved" in message else header)
    ok = open_events(path, chunk_events=1)
    with pytest.raises(EventFormatError, match=message):
        list(ok.chunks())
