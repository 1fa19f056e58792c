"""Prophesee EVT 3.0 codec written from the format specification (numba kernels, no file I/O).

EVT 3.0 is a stream of little-endian 16-bit words; the 4 most significant bits give the type:

===========  =====  ==========================================================================
type         value  payload (bits 11..0)
===========  =====  ==========================================================================
ADDR_Y       0x0    bit 11 system type (ignored), y in bits 10..0
ADDR_X       0x2    polarity in bit 11, x in bits 10..0: one event at (x, y, p, t)
VECT_BASE_X  0x3    polarity in bit 11, x in bits 10..0: base for the following vectors
VECT_12      0x4    12 valid bits: event at base_x + i for each set bit i; then base_x += 12
VECT_8       0x5    8 valid bits (7..0): same, then base_x += 8
TIME_LOW     0x6    bits 11..0 of the 24-bit time base
CONTINUED_4  0x7    extra data for the previous word (ignored)
TIME_HIGH    0x8    bits 23..12 of the 24-bit time base
EXT_TRIGGER  0xA    external trigger (ignored here)
OTHERS       0xE    vendor extensions (ignored)
CONTINUED_12 0xF    extra data (ignored)
===========  =====  ==========================================================================

Types 0x1, 0x9, 0xB, 0xC and 0xD are reserved: meeting one is a decoding error.

Timestamps (µs) are ``loops · 2**24 + (time_high << 12) + time_low``. Each TIME word updates only its own
12-bit portion. The 24-bit base wraps every 16.777216 s; a wrap is recognised the way Prophesee's own
decoder does it: TIME_HIGH falling by at least 4085 units (the full range less a 10-unit tolerance).
A smaller fall, or an event earlier than the one before it, is corruption.

expelliarmus 1.1.12 instead counts every fall of TIME_LOW as a 12-bit overflow and adds it to TIME_HIGH
(its issues #19/#20), so each TIME_HIGH step after which TIME_LOW restarts adds a spurious 4096 µs; the
test suite demonstrates the disagreement on the real EVT3 samples.

The decoder's carry is a small int64 array (see ``STATE_*``), so a stream split anywhere at a word boundary
decodes exactly as the whole stream.
"""

from __future__ import annotations

import numpy as np
from numba import njit

# word types (4 MSBs of a 16-bit word)
ADDR_Y, ADDR_X, VECT_BASE_X, VECT_12, VECT_8 = 0x0, 0x2, 0x3, 0x4, 0x5
TIME_LOW, CONTINUED_4, TIME_HIGH, EXT_TRIGGER, OTHERS, CONTINUED_12 = 0x6, 0x7, 0x8, 0xA, 0xE, 0xF

MAX_COORD = 2047  # 11-bit addresses: sensors up to 2048 x 2048
TIME_LOOP_US = 1 << 24  # the 24-bit time base wraps after 16.777216 s
LOOP_THRESHOLD_HIGH = 4095 - 10  # a TIME_HIGH fall of at least this many units is a wrap

# decoder carry: indices into an int64 state vector
STATE_Y, STATE_BASE_X, STATE_VPOL, STATE_HIGH, STATE_LOW, STATE_LOOPS = 0, 1, 2, 3, 4, 5
STATE_HAVE_TIME, STATE_SKIPPED, STATE_LAST_T = 6, 7, 8
STATE_SIZE = 9

# error codes returned by decode_words
OK, ERR_RESERVED_TYPE, ERR_TIME_BACKWARDS, ERR_X_RANGE, ERR_OUTSIDE = 0, 1, 2, 3, 4
ERROR_TEXT = {
    ERR_RESERVED_TYPE: "reserved EVT3 word type",
    ERR_TIME_BACKWARDS: "EVT3 time base runs backwards (not a 24-bit wrap)",
    ERR_X_RANGE: "vectorised EVT3 x address runs past 2047",
    ERR_OUTSIDE: "event outside the sensor",  # the reader words it with check_events (the event is written)
}


def initial_state() -> np.ndarray:
    """A fresh decoder carry: no time seen yet, y = base_x = 0."""
    state = np.zeros(STATE_SIZE, dtype=np.int64)
    state[STATE_LAST_T] = -1
    return state


@njit(cache=True, nogil=True)
def decode_words(words, state, out, width=0, height=0):  # pragma: no cover - compiled
    """Decode EVT3 ``words`` (uint16[n]) into ``out`` (EVENT_DTYPE[m]), updating ``state`` in place.

    With ``width``, ``height`` > 0 an event outside the sensor stops the decoding with ``ERR_OUTSIDE``, that event
    written last (so a reader checks order and bounds here, in the one pass, not again after).

    Stops early, before a word that could overflow ``out`` (a vector word needs up to 12 slots).
    Events that come before the first TIME_HIGH have no defined time; they are skipped and counted in
    ``state[STATE_SKIPPED]`` (Prophesee's decoder skips them too).

    Returns ``(n_events, n_words_consumed, error_code, error_word_index)``; on error, decoding stops at the
    offending word and ``state`` reflects the words before it.
    """
    n_out = 0
    cap = out.shape[0]
    n = words.shape[0]
    y = state[0]
    base_x = state[1]
    vpol = state[2]
    high = state[3]
    low = state[4]
    loops = state[5]
    have_time = state[6]
    skipped = state[7]
    last_t = state[8]
    i = 0
    err = 0
    t_cur = loops * 16777216 + (high << 12) + low  # the time of the next event, updated by the time words only
    while i < n:
        if cap - n_out < 12:
            break
        w = np.int64(words[i])
        kind = w >> 12
        payload = w & 0xFFF
        if kind == 0x0:  # ADDR_Y
            y = payload & 0x7FF
        elif kind == 0x2:  # ADDR_X
            t = t_cur
            if have_time == 0:
                skipped += 1
            else:
                if t < last_t:
                    err = 2
                    break
                x = payload & 0x7FF
                out[n_out].t = t
                out[n_out].x = x
                out[n_out].y = y
                out[n_out].p = (payload >> 11) & 1
                n_out += 1
                last_t = t
                if width > 0 and (x >= width or y >= height):
                    err = 4
                    i += 1
                    break
        elif kind == 0x3:  # VECT_BASE_X
            base_x = payload & 0x7FF
            vpol = (payload >> 11) & 1
        elif kind == 0x4 or kind == 0x5:  # VECT_12 / VECT_8
            n_bits = 12 if kind == 0x4 else 8
            bits = payload if kind == 0x4 else (payload & 0xFF)
            t = t_cur
            if bits != 0:
                # the highest set bit must stay on the 11-bit address grid (searched only near the edge)
                if base_x + n_bits - 1 > 2047:
                    top = 0
                    for k in range(n_bits):
                        if (bits >> k) & 1:
                            top = k
                    if base_x + top > 2047:
                        err = 3
                        break
                if have_time == 0:
                    for k in range(n_bits):
                        if (bits >> k) & 1:
                            skipped += 1
                else:
                    if t < last_t:
                        err = 2
                        break
                    outside = False
                    for k in range(n_bits):
                        if (bits >> k) & 1:
                            out[n_out].t = t
                            out[n_out].x = base_x + k
                            out[n_out].y = y
                            out[n_out].p = vpol
                            n_out += 1
                            if width > 0 and (base_x + k >= width or y >= height):
                                outside = True
                                break
                    last_t = t
                    if outside:
                        err = 4
                        i += 1
                        break
            base_x += n_bits
            if base_x > 4096:
                base_x = 4096  # keep the carry bounded on garbage; any later vector bit is then an error
        elif kind == 0x6:  # TIME_LOW
            low = payload
            t_cur = loops * 16777216 + (high << 12) + low
        elif kind == 0x8:  # TIME_HIGH
            if have_time != 0 and payload < high:
                if high - payload >= 4085:
                    loops += 1
                else:
                    err = 2
                    break
            high = payload
            have_time = 1
            t_cur = loops * 16777216 + (high << 12) + low
        elif kind == 0x7 or kind == 0xA or kind == 0xE or kind == 0xF:
            pass
        else:
            err = 1
            break
        i += 1
    state[0] = y
    state[1] = base_x
    state[2] = vpol
    state[3] = high
    state[4] = low
    state[5] = loops
    state[6] = have_time
    state[7] = skipped
    state[8] = last_t
    return n_out, i, err, i


@njit(cache=True, nogil=True)
def count_words_out(events):  # pragma: no cover - compiled
    """Upper bound on the number of EVT3 words :func:`encode_events` writes for ``events``."""
    n = events.shape[0]
    if n == 0:
        return 0
    high_steps = (events[n - 1].t >> 12) - (events[0].t >> 12) + 1
    # per event at most: ADDR_Y + TIME_LOW + ADDR_X; plus one TIME_HIGH per 4096 µs step
    return 3 * n + high_steps + 2


@njit(cache=True, nogil=True)
def encode_events(events, out):  # pragma: no cover - compiled
    """Encode sorted EVENT_DTYPE ``events`` (t ≥ 0) as EVT3 words into ``out``; returns the word count.

    Like a real sensor, a TIME_HIGH word is written for every 4096 µs step of the time base (so 24-bit
    wraps are always recognisable) and TIME_LOW only when the low bits change. Runs of ≥ 3 events with the
    same t, y and p whose x increase inside a 12-pixel span become VECT_BASE_X + VECT_12; others ADDR_X.
    The decoder returns exactly the input, in the same order.
    """
    n = events.shape[0]
    j = 0
    cur_y = -1
    cur_low = -1
    cur_high_abs = -1  # t >> 12, not wrapped
    i = 0
    while i < n:
        t = events[i].t
        high_abs = t >> 12
        if cur_high_abs < 0:
            out[j] = 0x8000 | (high_abs & 0xFFF)
            j += 1
            cur_high_abs = high_abs
            cur_low = -1
        while cur_high_abs < high_abs:
            cur_high_abs += 1
            out[j] = 0x8000 | (cur_high_abs & 0xFFF)
            j += 1
        low = t & 0xFFF
        if low != cur_low:
            out[j] = 0x6000 | low
            j += 1
            cur_low = low
        y = events[i].y
        if y != cur_y:
            out[j] = y & 0x7FF
            j += 1
            cur_y = y
        # greedy vector run: same t, y, p, strictly increasing x within [x0, x0 + 11]
        x0 = np.int64(events[i].x)
        p = events[i].p
        k = i + 1
        last_x = x0
        while (
            k < n
            and events[k].t == t
            and events[k].y == y
            and events[k].p == p
            and events[k].x > last_x
            and events[k].x <= x0 + 11
        ):
            last_x = events[k].x
            k += 1
        if k - i >= 3:
            bits = 0
            for m in range(i, k):
                bits |= 1 << (events[m].x - x0)
            out[j] = 0x3000 | (np.int64(p) << 11) | x0
            out[j + 1] = 0x4000 | bits
            j += 2
            i = k
        else:
            out[j] = 0x2000 | (np.int64(p) << 11) | x0
            j += 1
            i += 1
    return j
