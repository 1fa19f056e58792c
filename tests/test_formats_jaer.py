"""jAER's AEDAT 1.0/2.0 (the classic DVS128 format): bytes laid out by hand as jAER writes them decode to the
events jAER shows (top-left origin, ON as 1), DVS128 and DAVIS layouts, APS/IMU and special events skipped, 32-bit
timestamp wraps unwrapped, and every damaged file is one clear error naming what and where."""

from __future__ import annotations

import struct

import numpy as np
import pytest

from sast_live.errors import EventFormatError, SastLiveError
from sast_live.events import SensorSize, make_events
from sast_live.formats.jaer import AEDAT2Reader, write_aedat2
from sast_live.formats.registry import detect_format, open_events, read_events
from tests.conftest import main_in_process

HEADER = (b"#!AER-DAT2.0\r\n# This is a raw AE data file - do not edit\r\n"
          b"# Data format is int32 address, int32 timestamp (8 bytes total), repeated for each event\r\n"
          b"# Timestamps tick is 1 us\r\n")


def jaer_file(path, records, chip: str | None = "ch.unizh.ini.jaer.chip.retina.DVS128", header=HEADER,
              fmt=">II"):
    body = b"".join(struct.pack(fmt, a, t) for a, t in records)
    path.write_bytes(header + (f"# AEChip: {chip}\r\n".encode() if chip else b"") + body)
    return path


def test_dvs128_addresses_decode_as_jaer_shows_them(tmp_path):
    # raw x 127, raw y 127, polarity bit 0 = ON: jAER's lower-left origin and mirrored x → our (0, 0), top left
    recs = [((127 << 8) | (127 << 1) | 0, 10),
            ((0 << 8) | (0 << 1) | 1, 20),  # raw (0, 0), OFF → (127, 127)
            (0x8000 | (5 << 8), 25),  # bit 15: a special (sync) event, not a pixel
            ((100 << 8) | (3 << 1) | 1, 30)]  # raw x 3, y 100, OFF → (124, 27)
    path = jaer_file(tmp_path / "a.aedat", recs)
    assert detect_format(path) == "aedat2"
    r = open_events(path)
    assert r.format == "AEDAT2" and r.sensor_size == SensorSize(128, 128) and r.header["layout"] == "dvs128"
    ev = r.read()
    assert ev["t"].tolist() == [10, 20, 30]
    assert list(zip(ev["x"].tolist(), ev["y"].tolist(), ev["p"].tolist(), strict=True)) == \
        [(0, 0, 1), (127, 127, 0), (124, 27, 0)]


def test_a_first_event_whose_address_starts_with_a_hash_is_data_not_header(tmp_path):
    # a DVS128 address is 16 bits in a 32-bit word: the top byte '#' (0x23) is ignored, the bytes after it are not text
    recs = [(0x2300_0000 | (5 << 8) | (3 << 1), 5), ((6 << 8) | (4 << 1), 6)]
    path = jaer_file(tmp_path / "h.aedat", recs)
    r = open_events(path)
    assert len(r.header["lines"]) == 5 and r.header["chip"].endswith("DVS128")  # the header's lines, no more
    ev = r.read()
    assert ev["t"].tolist() == [5, 6] and (int(ev["x"][0]), int(ev["y"][0])) == (124, 122)


def test_davis_addresses_skip_aps_imu_and_special_events(tmp_path):
    def dvs(x, y, on):
        return (y << 22) | (x << 12) | (on << 11)

    recs = [(dvs(345, 259, 1), 1), (dvs(0, 0, 0), 2), ((1 << 31) | dvs(10, 10, 0), 3),  # an APS sample
            (dvs(7, 9, 1) | (1 << 10), 4),  # a special event
            (dvs(45, 60, 0), 5)]
    path = jaer_file(tmp_path / "d.aedat", recs, chip="eu.seebetter.ini.chips.davis.Davis346B")
    r = open_events(path)
    assert r.sensor_size == SensorSize(346, 260) and r.header["layout"] == "davis"
    ev = r.read()
    assert ev["t"].tolist() == [1, 2, 5]
    assert list(zip(ev["x"].tolist(), ev["y"].tolist(), ev["p"].tolist(), strict=True)) == \
        [(0, 0, 1), (345, 259, 0), (300, 199, 0)]


@pytest.mark.parametrize("size", [(128, 128), (240, 180), (346, 260)])
def test_written_files_read_back_event_for_event_across_a_timestamp_wrap(tmp_path, size):
    rng = np.random.default_rng(0)
    n = 5000
    t = np.sort(rng.integers(0, 3_000_000, n)) + (1 << 32) - 1_000_000  # crosses the 32-bit wrap
    ev = make_events(t, rng.integers(0, size[0], n), rng.integers(0, size[1], n), rng.integers(0, 2, n))
    path = tmp_path / "w.aedat"
    write_aedat2(path, ev, size)
    back = AEDAT2Reader(path, chunk_events=777).read()  # small blocks: the wrap falls inside and between them
    assert np.array_equal(back["x"], ev["x"]) and np.array_equal(back["y"], ev["y"])
    assert np.array_equal(back["p"], ev["p"])
    assert np.array_equal(back["t"] - back["t"][0], ev["t"] - ev["t"][0])  # 32-bit timestamps: relative time kept
    with pytest.raises(SastLiveError, match="cameras jAER names"):
        write_aedat2(tmp_path / "x.aedat", ev[:0], (320, 240))


def test_a_file_that_names_no_camera(tmp_path):
    # 16-bit addresses (CIFAR10-DVS, converted files): a DVS128
    small = jaer_file(tmp_path / "s.aedat", [((1 << 8) | (2 << 1), 5)], chip=None)
    assert open_events(small).header["layout"] == "dvs128" and len(read_events(small)) == 1
    # 32-bit addresses without a camera: refused unless the size is given
    big = jaer_file(tmp_path / "b.aedat", [((3 << 22) | (4 << 12), 5)], chip=None)
    with pytest.raises(EventFormatError, match="no '# AEChip:' line.*--sensor-size"):
        open_events(big)
    ev = read_events(big, sensor_size=SensorSize(240, 180))
    assert (int(ev["x"][0]), int(ev["y"][0])) == (235, 176)
    # AEDAT 1.0: 6-byte records of a 16-bit address
    old = tmp_path / "v1.aedat"
    old.write_bytes(b"#!AER-DAT1.0\r\n# old\r\n" + struct.pack(">HI", (127 << 8) | (127 << 1), 7))
    ev = read_events(old)
    assert (int(ev["x"][0]), int(ev["y"][0]), int(ev["p"][0]), int(ev["t"][0])) == (0, 0, 1, 7)


def test_damaged_files_are_one_clear_error_naming_where(tmp_path):
    good = [((1 << 8) | (2 << 1), 100), ((1 << 8) | (2 << 1), 200)]
    cut = jaer_file(tmp_path / "cut.aedat", good)
    cut.write_bytes(cut.read_bytes()[:-3])
    with pytest.raises(EventFormatError, match="ends inside an event record") as e:
        read_events(cut)
    assert e.value.offset is not None
    reset = jaer_file(tmp_path / "reset.aedat", [*good, ((1 << 8), 150)])
    with pytest.raises(EventFormatError, match="goes back 50 µs"):
        read_events(reset)
    unknown = jaer_file(tmp_path / "u.aedat", [((3 << 22) | (4 << 12), 5)], chip="some.lab.Chip")
    with pytest.raises(EventFormatError, match=r"does not know \(some.lab.Chip\)"):
        open_events(unknown)
    endless = tmp_path / "endless.aedat"
    endless.write_bytes(b"#!AER-DAT2.0\r\n# no line end")
    with pytest.raises(EventFormatError, match="header does not end"):
        open_events(endless)
    wrong = tmp_path / "wrong.aedat"
    wrong.write_bytes(b"#!AER-DAT9.0\r\n")
    with pytest.raises(EventFormatError, match="AEDAT version not supported"):
        detect_format(wrong)
    with pytest.raises(EventFormatError, match="not a jAER AEDAT"):
        AEDAT2Reader(wrong)
    outside = jaer_file(tmp_path / "o.aedat", [((300 << 22) | (4 << 12), 5)],  # y 300 on a 240x180 DAVIS
                        chip="eu.seebetter.ini.chips.davis.DAVIS240C")
    with pytest.raises(EventFormatError, match="is the camera davis, 240x180"):
        read_events(outside)


def test_convert_to_and_from_aedat2_and_replay_it(tmp_path, capsys):
    rng = np.random.default_rng(1)
    n = 3000
    ev = make_events(np.sort(rng.integers(0, 2_000_000, n)), rng.integers(0, 128, n), rng.integers(0, 128, n),
                     rng.integers(0, 2, n))
    src = tmp_path / "in.npy"
    np.save(src, ev)
    out = tmp_path / "out.aedat"
    main_in_process(capsys, "convert", src, out, "--format", "aedat2", "--sensor-size", "128x128")
    assert out.read_bytes().startswith(b"#!AER-DAT2.0\r\n")
    back = read_events(out)
    assert np.array_equal(back, ev)
    info = main_in_process(capsys, "info", out).stdout
    assert "AEDAT2" in info and "128" in info
    done = main_in_process(capsys, "replay", out, "--headless", "--speed", "0", "--json")
    assert sum(line.startswith("{") for line in done.stdout.splitlines()) >= 2
