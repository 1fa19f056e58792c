"""The framed serial protocol for custom camera boards: EVT 2.0 words in CRC-checked, numbered frames.

Frame layout (little-endian)::

    magic   2 bytes  0xA5 0x5A
    length  u16      payload bytes (a multiple of 4, at most MAX_PAYLOAD)
    seq     u16      frame number, +1 per frame, wraps at 2^16
    payload length   EVT 2.0 words (sast_live.wire.evt2_words); each frame starts with a TIME_HIGH word
    crc     u32      CRC-32 (zlib) of length, seq and payload

Every frame is self-contained (it carries its own TIME_HIGH), so a lost frame costs only its events. The
decoder hunts for the magic, checks length and CRC, and counts: ``resyncs`` (bytes skipped to find a valid
frame, counted per run), ``crc_errors`` and ``lost_frames`` (gaps in ``seq``). Events outside the sensor
or going back in time are dropped and counted as ``invalid``.
"""

from __future__ import annotations

import struct
import zlib
from typing import NamedTuple

import numpy as np

from sast_live.events import EVENT_DTYPE, SensorSize
from sast_live.wire.evt2_words import decode_wire_words, encode_wire_words

MAGIC = b"\xa5\x5a"
HEADER = struct.Struct("<2sHH")
CRC = struct.Struct("<I")
MAX_PAYLOAD = 4096  # bytes: 1,024 words; small frames keep latency low and a CRC error cheap
EVENTS_PER_FRAME = 500  # at most; a TIME_HIGH word joins every 64 µs step, so payloads stay ≤ 4 kB


class FramedState(NamedTuple):
    """Decoder carry and counters (totals since the stream opened)."""

    pending: bytes = b""
    next_seq: int = -1  # -1 before the first frame
    t_last: int = 0
    frames: int = 0
    lost_frames: int = 0
    crc_errors: int = 0
    resyncs: int = 0
    skipped: int = 0
    invalid: int = 0
    events: int = 0
    skipping: bool = False


def encode_frame(events: np.ndarray, seq: int) -> bytes:
    """One frame holding ``events`` (their words must fit MAX_PAYLOAD)."""
    payload = encode_wire_words(events).astype("<u4").tobytes()
    if len(payload) > MAX_PAYLOAD:
        raise ValueError(f"{len(events)} events need {len(payload)} payload bytes > {MAX_PAYLOAD}")
    head = HEADER.pack(MAGIC, len(payload), seq & 0xFFFF)
    return head + payload + CRC.pack(zlib.crc32(head[2:] + payload))


def encode_framed(events: np.ndarray, seq0: int = 0) -> tuple[bytes, int]:
    """Events → consecutive frames of at most EVENTS_PER_FRAME events; returns bytes and the next seq."""
    out, seq = [], seq0
    for start in range(0, len(events), EVENTS_PER_FRAME):
        out.append(encode_frame(events[start:start + EVENTS_PER_FRAME], seq))
        seq += 1
    return b"".join(out), seq


def decode_framed(data: bytes, state: FramedState, sensor: SensorSize) -> tuple[np.ndarray, FramedState]:
    """Decode the bytes that arrived after ``state``; returns EVENT_DTYPE events (in range, t non-decreasing)."""
    buf = state.pending + bytes(data)
    st = state._asdict()
    out = []
    i = 0
    while True:
        j = buf.find(MAGIC, i)
        if j < 0:  # keep a possible first magic byte at the end
            keep = max(i, len(buf) - 1) if buf.endswith(MAGIC[:1]) else len(buf)
            _skip(st, keep - i)
            i = keep
            break
        _skip(st, j - i)
        i = j
        if len(buf) - i < HEADER.size:
            break
        _, length, seq = HEADER.unpack_from(buf, i)
        if length % 4 or length > MAX_PAYLOAD:
            _skip(st, 1)
            i += 1
            continue
        end = i + HEADER.size + length + CRC.size
        if len(buf) < end:
            break
        body = buf[i + 2:i + HEADER.size + length]
        if zlib.crc32(body) != CRC.unpack_from(buf, end - CRC.size)[0]:
            st["crc_errors"] += 1
            _skip(st, 1)
            i += 1
            continue
        st["skipping"] = False
        if st["next_seq"] >= 0:
            st["lost_frames"] += (seq - st["next_seq"]) & 0xFFFF
        st["next_seq"] = (seq + 1) & 0xFFFF
        st["frames"] += 1
        words = np.frombuffer(buf, "<u4", length // 4, i + HEADER.size)
        ev, _ = decode_wire_words(words)
        ok = (ev["x"] < sensor.width) & (ev["y"] < sensor.height)
        t_ok = np.maximum.accumulate(np.concatenate([[st["t_last"]], ev["t"]]))[:-1] <= ev["t"]
        ok &= t_ok
        st["invalid"] += int(len(ev) - ok.sum())
        ev = ev[ok]
        if len(ev):
            st["t_last"] = int(ev["t"][-1])
            out.append(ev)
        st["events"] += len(ev)
        i = end
    st["pending"] = buf[i:]
    events = np.concatenate(out) if out else np.empty(0, EVENT_DTYPE)
    return events, FramedState(**st)


def _skip(st: dict, n: int) -> None:
    """Count ``n`` skipped bytes; a run of skipping (across calls too) is one resync."""
    if n <= 0:
        return
    if not st["skipping"]:
        st["resyncs"] += 1
    st["skipping"] = True
    st["skipped"] += n
