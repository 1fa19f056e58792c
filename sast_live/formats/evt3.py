"""Prophesee RAW EVT 3.0 files through our own spec-correct codec (:mod:`sast_live.formats.evt3_codec`)."""

from __future__ import annotations

import os
from collections.abc import Iterator

import numpy as np

from sast_live.errors import EventFormatError
from sast_live.events import EVENT_DTYPE, SensorSize, as_sensor_size, check_events
from sast_live.formats import evt3_codec as codec
from sast_live.formats.base import EventReader, read_prefix
from sast_live.formats.header import MAX_HEADER_BYTES, format_header, parse_header

WORDS_PER_READ = 1 << 20
# EVT3 carries 24-bit time plus wraps counted from the start of the file; a file written by us whose first
# event lies beyond the first wrap records the whole number of wraps it starts at, so round trips are exact.
OFFSET_KEY = "sast_time_offset_us"


class EVT3Reader(EventReader):
    format = "EVT3"
    decoder_checks = True  # the codec checks the time order and the sensor bounds as it decodes

    def __init__(self, path, sensor_size=None, chunk_events=1 << 16):
        super().__init__(path, sensor_size, chunk_events)
        header = parse_header(read_prefix(self.path, MAX_HEADER_BYTES))
        if header.format is not None and header.format != "EVT3":
            raise EventFormatError(self.path, 0, f"header declares {header.format}, not EVT3")
        self.header = header.fields
        self.header_size = header.size
        self._sensor_size = header.sensor_size
        offset_text = header.fields.get(OFFSET_KEY, "0").strip()
        if not offset_text.isdigit():
            raise EventFormatError(self.path, 0, f"bad '% {OFFSET_KEY}' header value {offset_text!r}")
        self.t_offset = int(offset_text)
        self.skipped = 0  # events before the first TIME_HIGH (no defined time)

    def _raw_chunks(self, n: int) -> Iterator[tuple[int, np.ndarray]]:
        width, height = self._bounds()
        state = codec.initial_state()
        cap = max(n, 12)
        with open(self.path, "rb") as fh:
            fh.seek(self.header_size)
            offset = self.header_size
            while True:
                raw = fh.read(2 * WORDS_PER_READ)
                if not raw:
                    break
                usable = len(raw) - (len(raw) % 2)
                words = np.frombuffer(raw[:usable], dtype="<u2")
                pos = 0
                while pos < len(words):
                    # room for 2 events a word (the real files hold 0.7): the decoder stops before a word that
                    # could overflow and the loop goes on with a new block. Sized for the worst case (12 a word),
                    # every block was a fresh mapping whose pages faulted in (1.1× expelliarmus; 1.35–1.46× since).
                    # Every slot used is written, so no zero-fill.
                    out = np.empty(min(cap, 2 * (len(words) - pos) + 12), dtype=EVENT_DTYPE)
                    last_t = int(state[codec.STATE_LAST_T])
                    n_ev, used, err, _ = codec.decode_evt3_words(words[pos:], state, out, width, height)
                    if err == codec.ERR_OUTSIDE:  # the standard words for it, from the standard check
                        self._check_block(out[:n_ev], self.sensor_size, last_t, offset + 2 * pos)
                    if err:
                        at = offset + 2 * (pos + used)
                        raise EventFormatError(self.path, at, codec.ERROR_TEXT[err])
                    if n_ev:
                        ev = out[:n_ev]
                        if self.t_offset:
                            ev["t"] += self.t_offset
                        yield offset + 2 * pos, ev
                    pos += used
                if usable != len(raw):
                    raise EventFormatError(self.path, offset + usable, "file ends inside a 16-bit EVT3 word")
                offset += usable
        self.skipped = int(state[codec.STATE_SKIPPED])


def write_evt3(path: str | os.PathLike, events: np.ndarray, sensor_size: SensorSize | None = None) -> int:
    """Write ``events`` (EVENT_DTYPE, sorted) as an EVT3 RAW file with a geometry header; returns bytes."""
    sensor_size = as_sensor_size(sensor_size)
    check_events(events, sensor_size)
    if len(events) and int(events["t"][0]) < 0:
        raise EventFormatError(path, None, "EVT3 cannot store negative timestamps")
    if len(events) and (events["x"].max() > codec.MAX_COORD or events["y"].max() > codec.MAX_COORD):
        raise EventFormatError(path, None, "EVT3 addresses are 11-bit: x and y must be below 2048")
    extra = {}
    body_events = events
    if len(events):
        loops = int(events["t"][0]) // codec.TIME_LOOP_US
        if loops:
            extra[OFFSET_KEY] = loops * codec.TIME_LOOP_US
            body_events = events.copy()
            body_events["t"] -= loops * codec.TIME_LOOP_US
    words = np.empty(int(codec.count_words_out(body_events)) if len(events) else 0, dtype="<u2")
    n = codec.encode_events(body_events, words) if len(events) else 0
    header = format_header("EVT3", sensor_size, extra)
    with open(path, "wb") as fh:
        fh.write(header)
        fh.write(words[:n].tobytes())
    return len(header) + 2 * n


def decode_bytes(data: bytes) -> np.ndarray:
    """Decode a whole EVT3 body (no header) held in memory; for tests and the serial framed protocol."""
    words = np.frombuffer(data[: len(data) - len(data) % 2], dtype="<u2")
    state = codec.initial_state()
    out = np.zeros(12 * len(words) + 12, dtype=EVENT_DTYPE)
    n, used, err, _ = codec.decode_evt3_words(words, state, out)
    if err:
        raise EventFormatError(None, 2 * used, codec.ERROR_TEXT[err])
    return out[:n]
