"""jAER's AEDAT 1.0 and 2.0: the format of most published DVS128 recordings (and of DAVIS240/346 files from jAER,
CIFAR10-DVS, v2e's ``.aedat`` output).

A text header of lines that begin with ``#`` (the first ``#!AER-DAT2.0`` or ``#!AER-DAT1.0``; jAER writes the camera
class as ``# AEChip: ch.unizh.ini.jaer.chip.retina.DVS128``), then records of a **big-endian** address and a
big-endian int32 timestamp in µs: 8 bytes in 2.0 (uint32 address), 6 in 1.0 (uint16 address). What the address
holds depends on the camera (iniVation's "AEDAT file formats" page, jAER's event extractors):

* **DVS128** (16 bits): bit 0 the polarity, *0 = ON*; bits 1–7 x; bits 8–14 y; bit 15 a special (sync) event.
* **DAVIS240/346/640** (32 bits): bit 31 set = an APS or IMU sample, bit 10 set = a special event (both skipped);
  otherwise a polarity event with y in bits 22–30, x in bits 12–21, the polarity in bit 11 (*1 = ON*).

jAER puts (0, 0) at the lower left and its DVS128 and DAVIS extractors mirror x; this reader returns events as jAER
shows them, in the top-left convention the rest of SAST-Live uses (every other reader's): ``x = W − 1 − x_raw``,
``y = H − 1 − y_raw``. A file that names no camera is read as a DVS128 when every address fits 16 bits (so
CIFAR10-DVS and other converted files open), and refused otherwise unless a sensor size is given. Timestamps are 32
bits and wrap after 71.6 min: a drop of more than half the range is taken as a wrap; any other step back is an error
naming its byte offset (jAER writes one when the camera's timestamps were reset mid-recording).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator

import numpy as np

from sast_live.errors import EventFormatError, SastLiveError
from sast_live.events import SensorSize, as_sensor_size, check_events, make_events
from sast_live.formats.base import EventReader

MAX_HEADER = 1 << 22  # jAER headers carry the chip's preferences as XML: tens of KB, never megabytes
RECORD = {1: np.dtype([("addr", ">u2"), ("t", ">u4")]), 2: np.dtype([("addr", ">u4"), ("t", ">u4")])}
#: AEChip class name (case-insensitive substring) → (layout, sensor size)
CHIPS = (("dvs128", "dvs128", SensorSize(128, 128)), ("tmpdiff128", "dvs128", SensorSize(128, 128)),
         ("davis240", "davis", SensorSize(240, 180)), ("davis346", "davis", SensorSize(346, 260)),
         ("davis640", "davis", SensorSize(640, 480)), ("davis208", "davis", SensorSize(208, 192)))
WRAP = 1 << 32


def parse_header(path, head: bytes) -> tuple[int, int, str | None, list[str]]:
    """``(version, data offset, AEChip class or None, header lines)`` of a jAER file starting with ``head``."""
    m = re.match(rb"#!AER-DAT(\d)\.(\d)\r?\n", head)
    if not m or int(m.group(1)) not in RECORD:
        raise EventFormatError(path, 0, "not a jAER AEDAT 1.0/2.0 file (no '#!AER-DAT2.0' or '#!AER-DAT1.0' line)")
    pos, lines = 0, []
    while pos < len(head) and head[pos:pos + 1] == b"#":
        end = head.find(b"\n", pos)
        line = head[pos:end if end >= 0 else len(head)].rstrip(b"\r")
        if any(c < 0x20 and c != 0x09 for c in line):  # an event whose address starts with '#': the data began
            break
        if end < 0:
            raise EventFormatError(path, pos, "the AEDAT 2.0 header does not end (a '#' line without a line end)")
        lines.append(line.decode("latin-1"))
        pos = end + 1
        if lines[-1].lower().replace(" ", "").startswith("#endofasciiheader"):
            break
    if pos >= len(head) and len(head) >= MAX_HEADER:
        raise EventFormatError(path, pos, f"an AEDAT 2.0 header over {MAX_HEADER} bytes")
    chip = next((line.split(":", 1)[1].strip() for line in lines if line.lower().startswith("# aechip:")), None)
    return int(m.group(1)), pos, chip, lines


def chip_layout(chip: str | None) -> tuple[str, SensorSize] | None:
    """(address layout, sensor size) of a jAER AEChip class name; None when unknown."""
    name = (chip or "").lower()
    return next(((layout, size) for key, layout, size in CHIPS if key in name), None)


def decode(addr: np.ndarray, layout: str, size: SensorSize) -> tuple[np.ndarray, ...]:
    """``(keep, x, y, p)`` of raw addresses: which are polarity events, and their top-left coordinates."""
    a = addr.astype(np.int64)
    if layout == "dvs128":
        keep = (a & 0x8000) == 0
        x, y, p = (a >> 1) & 0x7F, (a >> 8) & 0x7F, 1 - (a & 1)
    else:
        keep = (a & ((1 << 31) | (1 << 10))) == 0
        x, y, p = (a >> 12) & 0x3FF, (a >> 22) & 0x1FF, (a >> 11) & 1
    return keep, size[0] - 1 - x[keep], size[1] - 1 - y[keep], p[keep]


def encode(events: np.ndarray, layout: str, size: SensorSize) -> np.ndarray:
    """Raw addresses (uint32) of events, the inverse of :func:`decode`."""
    x = (size[0] - 1 - events["x"].astype(np.int64))
    y = (size[1] - 1 - events["y"].astype(np.int64))
    p = events["p"].astype(np.int64)
    if layout == "dvs128":
        return ((y << 8) | (x << 1) | (1 - p)).astype(np.uint32)
    return ((y << 22) | (x << 12) | (p << 11)).astype(np.uint32)


class AEDAT2Reader(EventReader):
    format = "AEDAT2"
    decoder_checks = True  # every block is checked as it is decoded, its time carried on across blocks

    def __init__(self, path, sensor_size=None, chunk_events=1 << 16):
        super().__init__(path, sensor_size, chunk_events)
        with open(self.path, "rb") as fh:
            head = fh.read(MAX_HEADER)
        self.version, self.data_offset, chip, lines = parse_header(self.path, head)
        self.header = {"lines": lines, "chip": chip, "version": f"{self.version}.0"}
        known = chip_layout(chip)
        if known is None:
            known = self._guess(chip, head)
        self.layout, self._sensor_size = known
        self.header["layout"] = self.layout

    def _guess(self, chip, head) -> tuple[str, SensorSize]:
        """A file whose camera this reader does not know: DVS128 when every address of its first records fits 16
        bits, a DAVIS of the size the caller gave otherwise."""
        rec = RECORD[self.version]
        body = head[self.data_offset:]
        first = np.frombuffer(body[:len(body) // rec.itemsize * rec.itemsize], rec)["addr"]
        if self.version == 1 or not len(first) or int(first.max()) < 1 << 16:
            return "dvs128", SensorSize(128, 128)
        if self._override_size is not None:
            return "davis", self._override_size
        what = f"a camera this reader does not know ({chip})" if chip else "no camera (no '# AEChip:' line)"
        raise EventFormatError(self.path, 0, f"this AEDAT 2.0 file names {what} and its addresses are not a "
                                             "DVS128's; give its sensor size (--sensor-size W H) to read them as "
                                             "a DAVIS's")

    def _raw_chunks(self, n: int) -> Iterator[tuple[int, np.ndarray]]:
        rec = RECORD[self.version]
        size = self.sensor_size
        wraps, last = 0, None
        pos = self.data_offset
        with open(self.path, "rb") as fh:
            fh.seek(pos)
            while pos < self.file_size:
                raw = fh.read(n * rec.itemsize)
                whole = len(raw) // rec.itemsize * rec.itemsize
                if whole == 0:
                    raise EventFormatError(self.path, pos, f"the file ends inside an event record ({len(raw)} of "
                                                           f"{rec.itemsize} bytes)")
                r = np.frombuffer(raw[:whole], rec)
                t = r["t"].astype(np.int64)
                back = np.flatnonzero(np.diff(t, prepend=t[0] if last is None else last) < 0)
                steps = np.zeros(len(t), np.int64)
                for i in back:
                    prev = t[i - 1] if i else last
                    if prev - t[i] <= WRAP // 2:
                        raise EventFormatError(self.path, pos + i * rec.itemsize,
                                               f"the timestamp goes back {prev - t[i]} µs (a timestamp reset in "
                                               "the recording?)")
                    steps[i] = 1
                last = int(t[-1])
                t = t + (wraps + np.cumsum(steps)) * WRAP
                wraps += int(steps.sum())
                keep, x, y, p = decode(r["addr"], self.layout, size)
                try:
                    ev = make_events(t[keep], x, y, p)
                    check_events(ev, size)
                except SastLiveError as exc:
                    raise EventFormatError(self.path, pos, f"{exc} (in the block read there; is the camera "
                                                           f"{self.layout}, {size[0]}x{size[1]}?)") from None
                yield pos, ev
                pos += whole
                if whole < len(raw):
                    fh.seek(pos)


def write_aedat2(path: str | os.PathLike, events: np.ndarray, sensor_size=(128, 128)) -> int:
    """Events as a jAER AEDAT 2.0 file of a DVS128 (128×128) or a DAVIS (any other size: 240×180, 346×260, …):
    what jAER opens, and the fixtures of this reader's tests. Returns the bytes written."""
    size = as_sensor_size(sensor_size)
    check_events(events, size)
    known = {s: k for k, _, s in reversed(CHIPS)}
    if size not in known:
        raise SastLiveError(f"jAER AEDAT 2.0 is written for the cameras jAER names: "
                            f"{', '.join(f'{k.upper()} ({s[0]}x{s[1]})' for s, k in known.items())}; not "
                            f"{size[0]}x{size[1]}")
    layout, _ = chip_layout(known[size])
    chip = "ch.unizh.ini.jaer.chip.retina.DVS128" if layout == "dvs128" else \
        f"eu.seebetter.ini.chips.davis.{known[size].upper()}"
    header = ("#!AER-DAT2.0\r\n# This is a raw AE data file - do not edit\r\n"
              "# Data format is int32 address, int32 timestamp (8 bytes total), repeated for each event\r\n"
              f"# Timestamps tick is 1 us\r\n# written by SAST-Live\r\n# AEChip: {chip}\r\n").encode()
    rec = np.empty(len(events), RECORD[2])
    rec["addr"] = encode(events, layout, size)
    rec["t"] = (events["t"].astype(np.int64) % WRAP).astype(np.uint32)
    tmp = f"{os.fspath(path)}.tmp"
    with open(tmp, "wb") as fh:
        fh.write(header)
        fh.write(rec.tobytes())
    os.replace(tmp, path)
    return os.path.getsize(path)
