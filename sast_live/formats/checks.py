"""One-pass numba checks shared by the readers (each replaces several NumPy passes over a chunk)."""

from __future__ import annotations

import numpy as np
from numba import njit

OK, T_DECREASES, BAD_POLARITY, NEGATIVE_COORD, OUTSIDE_SENSOR = 0, 1, 2, 3, 4
CHECK_TEXT = {
    T_DECREASES: "timestamps decrease",
    BAD_POLARITY: "polarity other than 0/1",
    NEGATIVE_COORD: "negative pixel coordinate",
    OUTSIDE_SENSOR: "event outside the sensor",
}


@njit(cache=True, nogil=True)
def check_chunk(t, x, y, p, last_t, width, height):  # pragma: no cover - compiled
    """Validate one chunk: ``(code, index)`` of the first problem, ``(0, -1)`` if none.

    ``last_t`` is the previous chunk's last time (or a very small number); ``width``/``height`` ≤ 0 skip
    the sensor bound.
    """
    prev = last_t
    for i in range(t.shape[0]):
        if t[i] < prev:
            return 1, i
        prev = t[i]
        if p[i] > 1:
            return 2, i
        if x[i] < 0 or y[i] < 0:
            return 3, i
        if width > 0 and (x[i] >= width or y[i] >= height):
            return 4, i
    return 0, -1


@njit(cache=True, nogil=True)
def scan_evt2(words, allowed):  # pragma: no cover - compiled
    """Count EVT2 CD words (types 0, 1); ``(count, index of the first word whose type is not allowed or -1)``."""
    n = 0
    for i in range(words.shape[0]):
        kind = words[i] >> 28
        if not allowed[kind]:
            return n, i
        if kind <= 1:
            n += 1
    return n, -1


def allowed_table(types) -> np.ndarray:
    """A 16-entry boolean lookup table of allowed 4-bit word types."""
    table = np.zeros(16, dtype=np.bool_)
    table[list(types)] = True
    return table
