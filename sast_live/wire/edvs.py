"""The eDVS4337 serial protocol in its ``!E2`` mode: 4 bytes per event, 16-bit timestamps.

Record layout (as the camera's firmware and libcaer define it)::

    byte 0   1yyyyyyy   sync bit (always 1) and y (0..127)
    byte 1   pxxxxxxx   polarity (1 = ON) and x (0..127)
    byte 2,3 tttttttt   16-bit timestamp in µs, big-endian; wraps every 65.536 ms

Only byte 0 carries a sync bit, so alignment is weak: a record is accepted when its byte 0 has the sync bit
and so does the byte 4 further on (the next record's byte 0, when it has arrived); otherwise one byte is
skipped and counted. A duplicated or dropped byte therefore costs a few records, not the stream.

Timestamps are unwrapped by adding 2^16 µs each time the 16-bit value decreases. The camera sends nothing
while the scene is still, so a pause longer than one wrap cannot be seen in the timestamps alone; the
decoder takes the host's idle time before a read (``idle_us``) and adds the wraps it proves
(:func:`extra_wraps`). Host arrival jitter of −16 ms … +49 ms is tolerated.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numba import njit

from sast_live.events import EVENT_DTYPE, SensorSize

SENSOR = SensorSize(128, 128)
RECORD = 4
WRAP_US = 1 << 16
BAUD = 12_000_000
# host commands (newline-terminated): reset, 2-byte timestamps, start / stop streaming
CMD_RESET, CMD_TIMESTAMPS, CMD_START, CMD_STOP = b"R\n", b"!E2\n", b"E+\n", b"E-\n"
GAP_MARGIN_US = 16_384  # an idle gap must exceed a wrap by 3/4 of one wrap before it counts as one


class EdvsState(NamedTuple):
    """Decoder carry: unconsumed bytes, last 16-bit stamp (-1 before the first) and last unwrapped time."""

    pending: bytes = b""
    last16: int = -1
    t_last: int = 0
    skipped: int = 0  # bytes skipped to regain alignment, in total
    resyncs: int = 0  # runs of skipped bytes, in total
    events: int = 0
    skipping: bool = False  # the last byte seen was skipped (a run may continue into the next read)
    idle_us: int = -1  # host idle time before the pending bytes arrived (a record may straddle two reads)


def encode_edvs(events: np.ndarray) -> bytes:
    """EVENT_DTYPE (x, y < 128) → ``!E2`` records; the timestamp sent is ``t mod 2^16``."""
    n = len(events)
    out = np.empty((n, RECORD), np.uint8)
    out[:, 0] = 0x80 | (events["y"].astype(np.uint8) & 0x7F)
    out[:, 1] = (events["p"].astype(np.uint8) << 7) | (events["x"].astype(np.uint8) & 0x7F)
    t16 = (events["t"] & 0xFFFF).astype(np.uint16)
    out[:, 2] = t16 >> 8
    out[:, 3] = t16 & 0xFF
    return out.tobytes()


@njit(cache=True, nogil=True)
def extra_wraps(idle_us, delta):  # pragma: no cover - compiled
    """Whole wraps hidden in a silent pause: the host saw ``idle_us`` of silence, the stamps advanced ``delta``."""
    if idle_us < 0:
        return 0
    k = (idle_us - delta + GAP_MARGIN_US) // WRAP_US
    return k if k > 0 else 0


@njit(cache=True, nogil=True)
def _decode(buf, idle_us, last16, t_last, skipping, t, x, y, p):  # pragma: no cover - compiled
    """Decode ``buf`` (uint8) into the preallocated ``t, x, y, p``; returns counts and the new carry."""
    n = buf.shape[0]
    i = 0
    k = 0
    skipped = 0
    resyncs = 0
    first = True
    while i + RECORD <= n:
        b0 = buf[i]
        if (b0 & 0x80) == 0 or (i + RECORD < n and (buf[i + RECORD] & 0x80) == 0):
            skipped += 1
            if not skipping:
                resyncs += 1
                skipping = True
            i += 1
            continue
        skipping = False
        t16 = (np.int64(buf[i + 2]) << 8) | np.int64(buf[i + 3])
        if last16 < 0:
            now = t16
        else:
            delta = (t16 - last16) % WRAP_US
            if first:
                delta += WRAP_US * extra_wraps(idle_us, delta)
            now = t_last + delta
        first = False
        t[k] = now
        x[k] = buf[i + 1] & 0x7F
        y[k] = b0 & 0x7F
        p[k] = buf[i + 1] >> 7
        k += 1
        last16 = t16
        t_last = now
        i += RECORD
    return k, i, skipped, resyncs, last16, t_last, skipping


def decode_edvs(data: bytes, state: EdvsState, idle_us: int = -1, kernel=None) -> tuple[np.ndarray, EdvsState]:
    """Decode the bytes that arrived (``data``) after ``state``; returns EVENT_DTYPE events and the new state.

    ``idle_us``: how long the line was silent before ``data`` arrived (host clock, µs), or -1 if unknown.
    Events are in range (x, y < 128) and t is non-decreasing by construction; a run of skipped bytes counts
    as one resync. ``kernel`` swaps in :func:`decode_edvs_reference`'s loop for the twin test.
    """
    buf = np.frombuffer(state.pending + bytes(data), dtype=np.uint8)
    cap = len(buf) // RECORD + 1
    t = np.empty(cap, np.int64)
    x = np.empty(cap, np.int16)
    y = np.empty(cap, np.int16)
    p = np.empty(cap, np.uint8)
    run = _decode if kernel is None else kernel
    # the silence preceded the first byte of a record, which may have arrived in an earlier read
    idle_us = state.idle_us if state.pending else idle_us
    k, used, skipped, resyncs, last16, t_last, skipping = run(
        buf, np.int64(idle_us), np.int64(state.last16), np.int64(state.t_last), bool(state.skipping), t, x, y, p)
    ev = np.empty(k, EVENT_DTYPE)
    ev["t"], ev["x"], ev["y"], ev["p"] = t[:k], x[:k], y[:k], p[:k]
    new = EdvsState(buf[used:].tobytes(), int(last16), int(t_last), state.skipped + int(skipped),
                    state.resyncs + int(resyncs), state.events + int(k), bool(skipping),
                    int(idle_us) if k == 0 else -1)
    return ev, new


def decode_edvs_reference(buf, idle_us, last16, t_last, skipping, t, x, y, p):
    """Pure-Python twin of the compiled decoder loop (same arguments and results), for the parity test."""
    buf = bytes(buf)
    n, i, k, skipped, resyncs, first = len(buf), 0, 0, 0, 0, True
    last16, t_last = int(last16), int(t_last)
    while i + RECORD <= n:
        aligned = buf[i] >= 0x80 and (i + RECORD >= n or buf[i + RECORD] >= 0x80)
        if not aligned:
            skipped += 1
            resyncs += 0 if skipping else 1
            skipping = True
            i += 1
            continue
        skipping = False
        t16 = buf[i + 2] * 256 + buf[i + 3]
        if last16 < 0:
            now = t16
        else:
            delta = (t16 - last16) % WRAP_US
            if first and idle_us >= 0:
                delta += WRAP_US * max(0, (int(idle_us) - delta + GAP_MARGIN_US) // WRAP_US)
            now = t_last + delta
        first = False
        t[k], x[k], y[k], p[k] = now, buf[i + 1] & 0x7F, buf[i] & 0x7F, buf[i + 1] >> 7
        k, last16, t_last, i = k + 1, t16, now, i + RECORD
    return k, i, skipped, resyncs, last16, t_last, skipping
