"""Prophesee EVT 2.0 decoding in one numba pass: decode, check the word types, the time order and the sensor
bounds together (before, a NumPy-block pre-scan of the word types, expelliarmus' decoder, a dtype copy and a
validation pass read the data four times).

EVT 2.0 (Prophesee's "EVT 2.0 format" page) is a stream of little-endian 32-bit words, type in bits 31–28:

* ``0x0`` CD_OFF / ``0x1`` CD_ON: bits 27–22 the low 6 bits of the time, 21–11 x, 10–0 y;
* ``0x8`` EV_TIME_HIGH: bits 27–0 the time's upper 28 bits (t = time_high << 6 | low, in µs);
* ``0xA`` EXT_TRIGGER, ``0xE`` OTHERS, ``0xF`` CONTINUED: carry no CD event (skipped);
* every other type is reserved: an error naming the word.

Events before the first TIME_HIGH take time_high = 0, as expelliarmus (and Prophesee's decoder) do.
"""

from __future__ import annotations

import numpy as np
from numba import njit

#: error codes of :func:`decode_evt2_words`
OK, RESERVED_TYPE, PROBLEM_EVENT = 0, 1, 2
STATE_HIGH, STATE_LAST_T = 0, 1


def initial_state() -> np.ndarray:
    """A fresh decoder carry: time_high 0, no event seen yet."""
    state = np.zeros(2, dtype=np.int64)
    state[STATE_LAST_T] = np.iinfo(np.int64).min
    return state


@njit(cache=True, nogil=True)
def decode_evt2_words(words, state, out, width, height):  # pragma: no cover - compiled
    """Decode EVT2 ``words`` (uint32[n]) into ``out`` (EVENT_DTYPE[m]), updating ``state`` in place.

    Checks as it goes what :func:`sast_live.events.check_events` checks of a chunk: time never decreasing
    (across calls too), coordinates inside ``width`` × ``height`` (≤ 0: no bound). Stops when ``out`` is full.

    Returns ``(n_events, n_words_consumed, error_code)``. ``RESERVED_TYPE``: the word at ``n_words_consumed``
    has a reserved type; ``PROBLEM_EVENT``: the last event written (``out[n_events - 1]``) breaks the order or
    the bounds, for the caller to describe with ``check_events``.
    """
    n_out = 0
    cap = out.shape[0]
    high = state[STATE_HIGH]
    last_t = state[STATE_LAST_T]
    i = 0
    err = OK
    while i < words.shape[0]:
        if n_out == cap:
            break
        w = np.int64(words[i])
        kind = w >> 28
        if kind <= 1:
            t = (high << 6) | ((w >> 22) & 0x3F)
            x = (w >> 11) & 0x7FF
            y = w & 0x7FF
            out[n_out].t = t
            out[n_out].x = x
            out[n_out].y = y
            out[n_out].p = kind
            n_out += 1
            if t < last_t or (width > 0 and (x >= width or y >= height)):
                err = PROBLEM_EVENT
                i += 1
                break
            last_t = t
        elif kind == 0x8:
            high = w & 0x0FFFFFFF
        elif kind != 0xA and kind != 0xE and kind != 0xF:
            err = RESERVED_TYPE
            break
        i += 1
    state[STATE_HIGH] = high
    state[STATE_LAST_T] = last_t
    return n_out, i, err
