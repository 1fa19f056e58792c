"""Prophesee RAW EVT 2.0 (our one-pass numba decoder, :mod:`sast_live.formats.evt2_codec`) and DAT files
(through expelliarmus, with our own checks).

expelliarmus' C decoders trust their input and report failures only on stderr, so before handing a DAT file
to them we check that its records are whole 8-byte records, and after decoding that the number of events is
the number of records. EVT2 is decoded, and its word types, time order and coordinates checked, in one pass.
Anything wrong raises :class:`EventFormatError` with the byte offset.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from functools import lru_cache
from pathlib import Path

import numpy as np

from sast_live.errors import EventFormatError
from sast_live.events import EVENT_DTYPE, SensorSize, as_sensor_size, check_events
from sast_live.formats import evt2_codec
from sast_live.formats.base import EventReader, read_prefix
from sast_live.formats.header import MAX_HEADER_BYTES, format_header, parse_header, read_header_bytes

EVT2_WORDS_PER_READ = 1 << 20  # 4 MB of the file per read
EVT2_MAX_T = (1 << 34) - 1  # 28-bit TIME_HIGH << 6 | 6-bit low
DAT_MAX_T = (1 << 32) - 1


def _wizard(encoding: str, path: Path, chunk_events: int):
    from expelliarmus import Wizard  # the optional C library is imported where it is used

    return Wizard(encoding=encoding, fpath=str(path), chunk_size=int(chunk_events))


class _ExpelliarmusReader(EventReader):
    encoding = ""

    def _body_start(self) -> int:
        raise NotImplementedError

    def _count_events(self) -> int:
        """Scan the body; raise on bad records; return how many events it holds."""
        raise NotImplementedError

    def _raw_chunks(self, n: int) -> Iterator[tuple[int, np.ndarray]]:
        expected = self._count_events()
        if expected == 0:
            return  # an empty body: nothing for expelliarmus to do (it can hang on header-only files)
        wizard = _wizard(self.encoding, self.path, n)
        # Start expelliarmus at the body we located ourselves: its own header skipper loops forever on a
        # header cut short and misreads a body whose first byte happens to be '%' (0x25) as a header line.
        wizard.cargo.events_info.start_byte = self._body_start()
        got = 0
        for chunk in wizard.read_chunk():
            yield None, chunk  # offsets inside expelliarmus chunks are not exposed
            got += len(chunk)
        if got != expected:
            raise EventFormatError(
                self.path, None, f"expelliarmus decoded {got} events where the file holds {expected}"
            )


class EVT2Reader(EventReader):
    format = "EVT2"
    decoder_checks = True  # evt2_codec checks order and bounds as it decodes

    def __init__(self, path, sensor_size=None, chunk_events=1 << 16):
        super().__init__(path, sensor_size, chunk_events)
        header = parse_header(read_prefix(self.path, MAX_HEADER_BYTES))
        if header.format is not None and header.format != "EVT2":
            raise EventFormatError(self.path, 0, f"header declares {header.format}, not EVT2")
        self.header, self.header_size, self._sensor_size = header.fields, header.size, header.sensor_size

    def _raw_chunks(self, n: int) -> Iterator[tuple[int, np.ndarray]]:
        width, height = self._bounds()
        state = evt2_codec.initial_state()
        with open(self.path, "rb") as fh:
            fh.seek(self.header_size)
            offset = self.header_size
            while raw := fh.read(4 * EVT2_WORDS_PER_READ):
                usable = len(raw) - len(raw) % 4
                words = np.frombuffer(raw[:usable], dtype="<u4")
                pos = 0
                while pos < len(words):
                    out = np.empty(min(n, len(words) - pos), dtype=EVENT_DTYPE)  # at most one event per word
                    last_t = int(state[evt2_codec.STATE_LAST_T])
                    n_ev, used, err = evt2_codec.decode_evt2_words(words[pos:], state, out, width, height)
                    if err == evt2_codec.RESERVED_TYPE:
                        raise EventFormatError(self.path, offset + 4 * (pos + used),
                                               f"reserved EVT2 word type {int(words[pos + used]) >> 28:#x}")
                    if err == evt2_codec.PROBLEM_EVENT:  # the standard words for it, from the standard check
                        self._check_block(out[:n_ev], self.sensor_size, last_t, offset + 4 * pos)
                    if n_ev:
                        yield offset + 4 * pos, out[:n_ev]
                    pos += used
                if usable != len(raw):
                    raise EventFormatError(self.path, offset + usable, "file ends inside a 32-bit EVT2 word")
                offset += usable


class DATReader(_ExpelliarmusReader):
    format = "DAT"
    encoding = "dat"

    def __init__(self, path, sensor_size=None, chunk_events=1 << 16):
        super().__init__(path, sensor_size, chunk_events)
        prefix = read_prefix(self.path, MAX_HEADER_BYTES)
        header = parse_header(prefix)
        self.header, self.header_size, self._sensor_size = header.fields, header.size, header.sensor_size
        if len(prefix) < header.size + 2:
            raise EventFormatError(self.path, header.size, "DAT file ends before its event-type bytes")
        ev_type, ev_size = prefix[header.size], prefix[header.size + 1]
        if ev_size != 8 or ev_type not in (0, 12):  # 0: TD events, 12: CD events (both 8-byte)
            raise EventFormatError(self.path, header.size,
                                   f"unsupported DAT event type {ev_type} / size {ev_size} (need TD, 8 bytes)")

    def _body_start(self) -> int:
        return self.header_size + 2  # past the event-type and event-size bytes

    def _count_events(self) -> int:
        body = self.file_size - self.header_size - 2
        if body % 8:
            raise EventFormatError(self.path, self.file_size - body % 8, "file ends inside an 8-byte DAT record")
        return body // 8


@lru_cache(maxsize=4)
def _expelliarmus_header_size(encoding: str) -> int:
    """Length of the fixed text header expelliarmus writes, measured on a probe file whose body cannot be
    mistaken for header text (a body byte of '%' would otherwise be read as one more header line)."""
    from expelliarmus import Wizard

    probe = np.zeros(1, dtype=EVENT_DTYPE)  # t = 0: the first body byte is 0x00
    with tempfile.TemporaryDirectory() as tmpdir:
        path = Path(tmpdir) / ("probe.dat" if encoding == "dat" else "probe.raw")
        Wizard(encoding=encoding).save(str(path), probe)
        size, _ = read_header_bytes(path.read_bytes()[:MAX_HEADER_BYTES])
    return size


def _replace_header(tmp: Path, out: Path, header: bytes, encoding: str) -> int:
    """Copy expelliarmus' output to ``out`` with our geometry header in place of its own."""
    with open(tmp, "rb") as src:
        src.seek(_expelliarmus_header_size(encoding))
        with open(out, "wb") as dst:
            dst.write(header)
            shutil.copyfileobj(src, dst)
    return os.path.getsize(out)


def _save(encoding: str, path, events, header: bytes) -> int:
    from expelliarmus import Wizard

    out = Path(path)
    with tempfile.TemporaryDirectory() as tmpdir:
        tmp = Path(tmpdir) / ("body.dat" if encoding == "dat" else "body.raw")
        if len(events):
            Wizard(encoding=encoding).save(str(tmp), np.ascontiguousarray(events))
            return _replace_header(tmp, out, header, encoding)
        out.write_bytes(header + (b"\x00\x08" if encoding == "dat" else b""))
        return os.path.getsize(out)


def write_evt2(path, events: np.ndarray, sensor_size: SensorSize | None = None) -> int:
    """Write ``events`` as EVT 2.0 (expelliarmus encoder, our header with geometry); returns bytes."""
    sensor_size = as_sensor_size(sensor_size)
    check_events(events, sensor_size)
    if len(events) and (events["t"][0] < 0 or events["t"][-1] > EVT2_MAX_T):
        raise EventFormatError(path, None, f"EVT2 timestamps must lie in [0, {EVT2_MAX_T}] µs")
    if len(events) and max(events["x"].max(), events["y"].max()) > 2047:
        raise EventFormatError(path, None, "EVT2 addresses are 11-bit: x and y must be below 2048")
    return _save("evt2", path, events, format_header("EVT2", sensor_size))


def write_dat(path, events: np.ndarray, sensor_size: SensorSize | None = None) -> int:
    """Write ``events`` as a Prophesee DAT (TD, 8-byte records) file; returns bytes."""
    sensor_size = as_sensor_size(sensor_size)
    check_events(events, sensor_size)
    if len(events) and (events["t"][0] < 0 or events["t"][-1] > DAT_MAX_T):
        raise EventFormatError(path, None, f"DAT timestamps must lie in [0, {DAT_MAX_T}] µs")
    if len(events) and max(events["x"].max(), events["y"].max()) >= 1 << 14:
        raise EventFormatError(path, None, "DAT addresses are 14-bit")
    lines = ["% Data file containing Event2D events.", "% Version 2"]
    if sensor_size is not None:
        lines += [f"% Height {sensor_size.height}", f"% Width {sensor_size.width}"]
    header = ("\n".join(lines) + "\n").encode("ascii")
    return _save("dat", path, events, header)
