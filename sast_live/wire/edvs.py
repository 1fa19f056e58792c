"""The eDVS4337 serial protocol in its ``!E2`` mode: 4 bytes per event, 16-bit timestamps.

Record layout (as the camera's firmware and libcaer define it)::

    byte 0   1yyyyyyy   sync bit (always 1) and y (0..127)
    byte 1   pxxxxxxx   polarity (1 = ON) and x (0..127)
    byte 2,3 tttttttt   16-bit timestamp in µs, big-endian; wraps every 65.536 ms

Only byte 0 carries a sync bit, so alignment is weak: after a dropped or duplicated byte the polarity bit of
byte 1 or the top bit of a timestamp byte can pose as a sync bit for many records in a row. A record at byte
``i`` is accepted when

* byte ``i`` and byte ``i + 4`` (the next record's byte 0, once it has arrived) carry the sync bit;
* no other byte phase ``i+1 … i+3`` is clearly the stream's true alignment: ``LOOKAHEAD`` records there all
  carry the sync bit and their stamps follow the last accepted one in steps of at most ``PLAUSIBLE_US`` (a
  garbled phase's "stamps" are made of coordinate bytes and jump at random);
* when its own stamp jumps by more than ``PLAUSIBLE_US`` (or after a resync, or for the very first record), the
  ``LOOKAHEAD`` records from ``i`` all carry the sync bit.

Otherwise one byte is skipped (a run of skipped bytes is one resync). The first record after a resync is
discarded too (``discarded``): it may begin with the stray byte of a duplicate. One dropped or duplicated byte
in a dense stream therefore costs one resync and at most two records, and no record is invented (tested).
The checks need the bytes after a record: a record waits for them in ``pending`` until they arrive, or until the
caller says the line went quiet (``flush=True``), when the look-ahead that has arrived decides.

Timestamps are unwrapped by adding 2^16 µs each time the 16-bit value decreases. The camera sends nothing
while the scene is still, so a pause longer than one wrap cannot be seen in the timestamps alone; the
decoder takes the host's idle time before a read (``idle_us``) and adds the wraps it proves
(:func:`extra_wraps`): the number of wraps nearest to ``(idle − stamp step) / 2^16``, so an idle time off by less
than half a wrap (±32 ms) still gives the right count. ``idle_us`` must only count time the line was seen
empty (:class:`~sast_live.sources.serial_source.SerialSource` measures it so); bytes that waited in the line
while the host was busy are not a pause, and neither are bytes held up on the camera's side (the serial source
caps the idle time it passes by the stamps of the burst that ended the silence).
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
GAP_MARGIN_US = WRAP_US // 2  # an idle time counts the nearest whole number of wraps (±half a wrap of error)
LOOKAHEAD = 8  # records whose byte 0 must carry the sync bit when the alignment is in doubt
PLAUSIBLE_US = 2048  # a stamp step larger than this puts a record in doubt (dense streams step by µs)
NEXT_STEP_US = PLAUSIBLE_US // 4  # "this phase goes on" with the next records: a tighter step (fewer coincidences)
GOES_ON = 2  # records
RELOCK_ANYWAY = RECORD  # bytes skipped (every byte phase tried once) before a sparse stream may re-lock …
RELOCK_SYNC_ONLY = RECORD * LOOKAHEAD * 2  # … on sync bits and half-wrap steps, and after this many on sync bits alone


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
    discarded: int = 0  # records dropped because they opened a re-lock (counted as lost)
    run: int = 0  # bytes skipped in the current run


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
def _window_synced(buf, q, m):  # pragma: no cover - compiled
    """Byte 0 of each of the ``m`` records from ``q`` carries the sync bit (records not yet arrived don't count)."""
    for k in range(m):
        j = q + RECORD * k
        if j >= buf.shape[0]:
            return True
        if (buf[j] & 0x80) == 0:
            return False
    return True


@njit(cache=True, nogil=True)
def _stamp(buf, q):  # pragma: no cover - compiled
    return (np.int64(buf[q + 2]) << 8) | np.int64(buf[q + 3])


@njit(cache=True, nogil=True)
def _phase_continues(buf, q, last16):  # pragma: no cover - compiled
    """``LOOKAHEAD`` complete records from ``q`` carry the sync bit and step by ≤ PLAUSIBLE_US, from ``last16``
    (from the first of them when ``last16`` < 0)."""
    if q + RECORD * LOOKAHEAD > buf.shape[0]:
        return False
    prev = last16
    for k in range(LOOKAHEAD):
        j = q + RECORD * k
        if (buf[j] & 0x80) == 0:
            return False
        t16 = _stamp(buf, j)
        if prev >= 0 and (t16 - prev) % WRAP_US > PLAUSIBLE_US:
            return False
        prev = t16
    return True


@njit(cache=True, nogil=True)
def _steps_below(buf, q, bound):  # pragma: no cover - compiled
    """The stamps of the complete records among ``LOOKAHEAD`` from ``q`` step by less than ``bound`` (µs, mod a
    wrap): a sparse stream's records move forward by a fraction of a wrap, a garbled phase's "stamps" at random."""
    prev = -1
    for k in range(LOOKAHEAD):
        j = q + RECORD * k
        if j + RECORD > buf.shape[0]:
            break
        t16 = _stamp(buf, j)
        if prev >= 0 and (t16 - prev) % WRAP_US >= bound:
            return False
        prev = t16
    return True


@njit(cache=True, nogil=True)
def _goes_on(buf, i, t16):  # pragma: no cover - compiled
    """The ``GOES_ON`` records after the one at ``i`` (stamp ``t16``) are synced and step by ≤ NEXT_STEP_US (records
    not yet arrived don't count)."""
    prev = t16
    for k in range(1, GOES_ON + 1):
        j = i + RECORD * k
        if j + RECORD > buf.shape[0]:
            return True
        if (buf[j] & 0x80) == 0 or (_stamp(buf, j) - prev) % WRAP_US > NEXT_STEP_US:
            return False
        prev = _stamp(buf, j)
    return True


@njit(cache=True, nogil=True)
def _decode(buf, idle_us, last16, t_last, skipping, run, flush, t, x, y, p):  # pragma: no cover - compiled
    """Decode ``buf`` (uint8) into the preallocated ``t, x, y, p``; returns counts and the new carry."""
    n = buf.shape[0]
    i = 0
    k = 0
    skipped = 0
    resyncs = 0
    discarded = 0
    first = True
    verified = -1  # start of the newest record of a look-ahead window found to go on plausibly
    while i + RECORD <= n:
        if not flush and i + RECORD * (LOOKAHEAD + 1) > n:
            break  # the look-ahead has not arrived yet: wait for it (or for the line to go quiet)
        ok = (buf[i] & 0x80) != 0
        t16 = _stamp(buf, i)
        goes = False
        if ok and last16 >= 0:
            # does this phase go on for LOOKAHEAD records? The last record's check covered all but the newest
            # one of this window (the same answer as _phase_continues, one record of work per record)
            j = i + RECORD * (LOOKAHEAD - 1)
            if verified == j - RECORD and j + RECORD <= n:
                goes = (buf[j] & 0x80) != 0 and (_stamp(buf, j) - _stamp(buf, j - RECORD)) % WRAP_US <= PLAUSIBLE_US
            else:
                goes = _phase_continues(buf, i, last16)
            verified = j if goes else -1
        if ok and last16 >= 0 and not goes:
            # this phase breaks within the look-ahead; if the stream goes on at another phase, this record is
            # garbled (a phase that goes on itself is never overruled: in a dense stream a garbled phase made
            # of low stamp bytes can look plausible too)
            for c in range(i + 1, i + RECORD):
                if _phase_continues(buf, c, last16):
                    ok = False
                    break
            # … or at phase +1 one record later, the first one there holding a duplicated byte; unless this phase
            # goes on in small steps for the next records (then the duplicate lies further on)
            if ok and not _goes_on(buf, i, t16):
                ok = not _phase_continues(buf, i + 1 + RECORD, last16)
        if ok and skipping:  # re-locking: records that go on from the last good one, or any synced run after a
            # long search (a sparse stream, or a pause: steps too large to be called plausible)
            ok = _phase_continues(buf, i, last16) or (run >= RELOCK_ANYWAY and _window_synced(buf, i, LOOKAHEAD) and (
                run >= RELOCK_SYNC_ONLY or _steps_below(buf, i, WRAP_US // 2)))
        elif ok and (last16 < 0 or (t16 - last16) % WRAP_US > PLAUSIBLE_US):
            ok = _window_synced(buf, i, LOOKAHEAD)
        if not ok:
            skipped += 1
            run += 1
            if not skipping:
                resyncs += 1
                skipping = True
            i += 1
            continue
        if skipping:  # re-locked: the record that opens the lock may hold a stray byte; drop it
            skipping = False
            run = 0
            verified = -1  # last16 stays the record before the resync: the next window is checked whole
            discarded += 1
            i += RECORD
            continue
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
        y[k] = buf[i] & 0x7F
        p[k] = buf[i + 1] >> 7
        k += 1
        last16 = t16
        t_last = now
        i += RECORD
    return k, i, skipped, resyncs, discarded, last16, t_last, skipping, run


def decode_edvs(data: bytes, state: EdvsState, idle_us: int = -1, flush: bool = False,
                kernel=None) -> tuple[np.ndarray, EdvsState]:
    """Decode the bytes that arrived (``data``) after ``state``; returns EVENT_DTYPE events and the new state.

    ``idle_us``: how long the line was seen silent before ``data`` arrived (host clock, µs), or -1 if unknown.
    ``flush``: the line is quiet now, so records still waiting for their look-ahead are decided with what has
    arrived (a partial record stays pending).
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
    k, used, skipped, resyncs, discarded, last16, t_last, skipping, run_len = run(
        buf, np.int64(idle_us), np.int64(state.last16), np.int64(state.t_last), bool(state.skipping),
        np.int64(state.run), bool(flush), t, x, y, p)
    ev = np.empty(k, EVENT_DTYPE)
    ev["t"], ev["x"], ev["y"], ev["p"] = t[:k], x[:k], y[:k], p[:k]
    new = EdvsState(buf[used:].tobytes(), int(last16), int(t_last), state.skipped + int(skipped),
                    state.resyncs + int(resyncs), state.events + int(k), bool(skipping),
                    int(idle_us) if k == 0 else -1, state.discarded + int(discarded), int(run_len))
    return ev, new


def decode_edvs_reference(buf, idle_us, last16, t_last, skipping, run, flush, t, x, y, p):
    """Pure-Python twin of the compiled decoder loop (same arguments and results), for the parity test."""
    buf = bytes(buf)
    n, i, k, skipped, resyncs, discarded, first = len(buf), 0, 0, 0, 0, 0, True
    last16, t_last = int(last16), int(t_last)

    def stamp(q):
        return buf[q + 2] * 256 + buf[q + 3]

    def synced(q, m):
        return all(buf[j] >= 0x80 for j in range(q, min(q + RECORD * m, n), RECORD))

    def continues(q, prev):  # LOOKAHEAD complete, synced records stepping plausibly (from prev when ≥ 0)
        if q + RECORD * LOOKAHEAD > n:
            return False
        stamps = ([prev] if prev >= 0 else []) + [stamp(q + RECORD * j) for j in range(LOOKAHEAD)]
        steps = zip(stamps, stamps[1:], strict=False)
        return synced(q, LOOKAHEAD) and all((b - a) % WRAP_US <= PLAUSIBLE_US for a, b in steps)

    def steps_below(q, bound):
        stamps = [stamp(j) for j in range(q, q + RECORD * LOOKAHEAD, RECORD) if j + RECORD <= n]
        return all((b - a) % WRAP_US < bound for a, b in zip(stamps, stamps[1:], strict=False))

    while i + RECORD <= n:
        if not flush and i + RECORD * (LOOKAHEAD + 1) > n:
            break
        t16 = stamp(i)
        ahead = [q for q in range(i + RECORD, i + RECORD * (GOES_ON + 1), RECORD) if q + RECORD <= n]
        steps = [t16] + [stamp(q) for q in ahead]
        goes_on = all(buf[q] >= 0x80 for q in ahead) and all(
            (b - a) % WRAP_US <= NEXT_STEP_US for a, b in zip(steps, steps[1:], strict=False))
        other = any(continues(c, last16) for c in (i + 1, i + 2, i + 3)) or (
            not goes_on and continues(i + 1 + RECORD, last16))
        ok = buf[i] >= 0x80 and not (last16 >= 0 and not continues(i, last16) and other)
        if ok and skipping:
            ok = continues(i, last16) or (run >= RELOCK_ANYWAY and synced(i, LOOKAHEAD) and (
                run >= RELOCK_SYNC_ONLY or steps_below(i, WRAP_US // 2)))
        elif ok and (last16 < 0 or (t16 - last16) % WRAP_US > PLAUSIBLE_US):
            ok = synced(i, LOOKAHEAD)
        if not ok:
            skipped, run = skipped + 1, run + 1
            resyncs += 0 if skipping else 1
            skipping = True
            i += 1
            continue
        if skipping:
            skipping, run, discarded, i = False, 0, discarded + 1, i + RECORD
            continue
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
    return k, i, skipped, resyncs, discarded, last16, t_last, skipping, run
