"""Writers: every round trip is exact; DVS Gesture layouts; AEDAT4 without the extra; npy variants."""

from __future__ import annotations

import builtins

import numpy as np
import pytest

from sast_live.errors import EventFormatError, SastLiveError
from sast_live.events import make_events
from sast_live.formats.aedat import AEDAT4Reader, write_aedat31
from sast_live.formats.dvs_gesture import GESTURE_CLASSES, cut_gestures, read_gesture_labels
from sast_live.formats.registry import open_events, read_events, write_events


def random_events(seed, n=3000, size=(128, 128), t_max=3_000_000):
    rng = np.random.default_rng(seed)
    return make_events(np.sort(rng.integers(0, t_max, n)), rng.integers(0, size[0], n),
                       rng.integers(0, size[1], n), rng.integers(0, 2, n))


@pytest.mark.parametrize("ext", [".raw", ".dat", ".bin", ".npy"])
@pytest.mark.parametrize("seed", [0, 1])
def test_writer_roundtrip_exact(tmp_path, ext, seed):
    ev = random_events(seed, size=(34, 34) if ext == ".bin" else (128, 128))
    size = (34, 34) if ext == ".bin" else (128, 128)
    path = tmp_path / f"x{ext}"
    write_events(path, ev, size)
    reader = open_events(path, chunk_events=500)
    assert np.array_equal(reader.read(), ev)
    assert tuple(reader.sensor_size) == size


def test_evt2_roundtrip_and_geometry_header(tmp_path):
    ev = random_events(3, size=(640, 480))
    write_events(tmp_path / "x.raw", ev, (640, 480), fmt="evt2")
    r = open_events(tmp_path / "x.raw")
    assert r.format == "EVT2" and tuple(r.sensor_size) == (640, 480)
    assert np.array_equal(r.read(), ev)
    assert b"% format EVT2;height=480;width=640" in (tmp_path / "x.raw").read_bytes()[:200]


def test_evt2_body_starting_with_percent_byte(tmp_path):
    """The first body word's low byte is '%' (0x25): expelliarmus' own header skipper would eat it."""
    ev = make_events([0x25 << 6, 3000, 3001], [1, 2, 3], [4, 5, 6], [1, 0, 1])
    write_events(tmp_path / "pct.raw", ev, (16, 16), fmt="evt2")
    body = (tmp_path / "pct.raw").read_bytes().split(b"% end\n", 1)[1]
    assert body[:1] == b"%"
    assert np.array_equal(read_events(tmp_path / "pct.raw"), ev)


def test_header_cut_short_is_empty_not_a_hang(tmp_path):
    (tmp_path / "cut.raw").write_bytes(b"% format EVT2;height=128;wid")
    assert len(read_events(tmp_path / "cut.raw")) == 0


def test_empty_roundtrips(tmp_path):
    ev = make_events([], [], [], [])
    for ext in (".raw", ".bin", ".npy"):
        write_events(tmp_path / f"e{ext}", ev, (34, 34))
        assert len(read_events(tmp_path / f"e{ext}")) == 0


def test_writers_reject_what_the_format_cannot_hold(tmp_path):
    with pytest.raises(EventFormatError, match="23-bit"):
        write_events(tmp_path / "x.bin", make_events([0, 9_000_000], [1, 1], [1, 1], [0, 1]), (34, 34))
    with pytest.raises(SastLiveError, match="outside"):
        write_events(tmp_path / "x.raw", make_events([0], [200], [1], [0]), (128, 128))


def test_aedat31_gestures_cut_by_labels(tmp_path):
    ev = random_events(4, n=20_000, t_max=10_000_000)
    ev["t"] += (1 << 31) - 5_000_000  # crosses the 31-bit timestamp overflow of AEDAT 3.1
    aedat = tmp_path / "user01_fluorescent.aedat"
    write_aedat31(aedat, ev)
    back = open_events(aedat).read()
    assert np.array_equal(back, ev)
    t0 = int(ev["t"][0])
    labels = tmp_path / "user01_fluorescent_labels.csv"
    labels.write_text(f"class,startTime_usec,endTime_usec\n3,{t0 + 1_000_000},{t0 + 2_500_000}\n"
                      f"11,{t0 + 4_000_000},{t0 + 6_000_000}\n")
    assert read_gesture_labels(labels) == [(2, t0 + 1_000_000, t0 + 2_500_000), (10, t0 + 4_000_000, t0 + 6_000_000)]
    cuts = list(cut_gestures(aedat))
    assert [c for c, _ in cuts] == [2, 10] and GESTURE_CLASSES[10] == "other_gestures"
    for (_cls, part), (a, b) in zip(cuts, [(1_000_000, 2_500_000), (4_000_000, 6_000_000)], strict=True):
        expect = ev[(ev["t"] >= t0 + a) & (ev["t"] < t0 + b)]
        assert np.array_equal(part, expect) and len(part) > 0


def test_the_labels_reader_holds_to_its_rules_and_names_the_line(tmp_path):
    from sast_live.errors import EventFormatError
    from sast_live.formats.dvs_gesture import MAX_LABEL_ROWS

    f = tmp_path / "l_labels.csv"

    def read(data: bytes, n_classes=11):
        f.write_bytes(data)
        return read_gesture_labels(f, n_classes)

    good = [(0, 0, 10), (1, 10, 20)]
    assert read(b"class,startTime_usec,endTime_usec\n1,0,10\n2,10,20\n") == good  # IBM's own
    assert read(b"\xef\xbb\xbf1,0,10\r\n\r\n 2 , 10 , 20 \r\n") == good  # a BOM and no header: the first label kept
    assert read(b"\xef\xbb\xbfCLASS,StartTime_usec,EndTime_usec\n2,10,20\n1,0,10\n") == [good[1], good[0]]
    assert read(b"13,0,10\n", n_classes=13) == [(12, 0, 10)]  # a taught model's class
    for data, says in [(b"\x00\x01\x02binary", "binary data"),
                       ("1,0,10\n2,10,20 é\n".encode("latin-1"), "not UTF-8"),
                       (b"class,startTime_usec,endTime_usec\n", "no labels in it"),
                       (b"", "no labels in it"),
                       (b"1,0,10\n1.0,20,30\n", "line 2: '1.0,20,30' is not class,start_us,end_us"),
                       (b"+2,20,30\n", "line 1: '\\+2,20,30'"),
                       (b"1,-5,10\n", "line 1"),
                       (b"1,0,10,4\n", "line 1"),
                       (b'"1","0","10"\n', "line 1"),
                       (b"1,0,10\nclass,startTime_usec,endTime_usec\n", "line 2"),  # a header only on line 1
                       (b"\nclass,startTime_usec,endTime_usec\n1,0,10\n", "line 2"),  # not after a blank line
                       (b"12,0,10\n", "line 1: class 12 \\(the model has classes 1–11\\)"),
                       (b"0,0,10\n", "line 1: class 0"),
                       (b"1,10,10\n", "line 1: the interval 10–10 µs is empty"),
                       (b"1,20,10\n", "reversed"),
                       (b"1,0,10\n2,5,20\n", "line 2 overlaps line 1"),
                       (b"2,10,20\n1,0,11\n", "line 1 overlaps line 2"),  # by 1 µs, in any order
                       (b"1," + b"9" * (200 << 10) + b",10\n", "line 1: '1,999"),  # a 200-KiB field
                       (b"1,0,1\n" * (MAX_LABEL_ROWS + 2), "lines \\(at most 100,000 labels\\)")]:
        with pytest.raises(EventFormatError, match=says):
            read(data)
    with pytest.raises(EventFormatError, match="not found"):
        read_gesture_labels(tmp_path / "none.csv")


def test_replay_score_refuses_a_broken_labels_file_before_replaying(tmp_path, capsys):
    from sast_live.sources import DEMO
    from tests.conftest import main_in_process

    rec = tmp_path / "demo.raw"
    rec.write_bytes(DEMO.read_bytes())
    (tmp_path / "demo_labels.csv").write_bytes(b"class,startTime_usec,endTime_usec\n")
    r = main_in_process(capsys, "replay", rec, "--headless", "--score", "--speed", "0", ok=False)
    assert r.returncode == 2 and "no labels in it" in r.stderr and r.stdout == ""  # not a window replayed


def test_tonic_gesture_npy_layout(tmp_path):
    rng = np.random.default_rng(0)
    n = 1000
    arr = np.stack([rng.integers(0, 128, n), rng.integers(0, 128, n), rng.integers(0, 2, n),
                    np.sort(rng.uniform(0, 6000, n))], axis=1)  # x, y, p, t in ms
    np.save(tmp_path / "3.npy", arr)
    r = open_events(tmp_path / "3.npy")
    ev = r.read()
    assert tuple(r.sensor_size) == (128, 128)
    assert np.array_equal(ev["t"], np.rint(arr[:, 3] * 1000).astype(np.int64))
    assert np.array_equal(ev["x"], arr[:, 0])


def test_aedat4_without_dv_names_the_extra(real_dir, monkeypatch):
    real_import = builtins.__import__

    def fake_import(name, *args, **kwargs):
        if name.startswith("dv_processing"):
            raise ImportError("no dv")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", fake_import)
    with pytest.raises(SastLiveError, match=r"sast-live\[dv\]"):
        AEDAT4Reader(real_dir / "tonic" / "sample.aedat4")
