"""Prophesee EVT 2.0 words in memory (the payload of the framed protocol): 32-bit little-endian words.

    CD_OFF / CD_ON   type 0x0 / 0x1 (bits 31..28) | t low 6 bits (27..22) | x (21..11) | y (10..0)
    EV_TIME_HIGH     type 0x8 | t >> 6 (27..0)

An event's time is ``(last TIME_HIGH << 6) | t_low``. Other word types (triggers, vendor words) are skipped.
Vectorised NumPy both ways: a frame holds at most a few thousand words, so there is no loop to compile.
"""

from __future__ import annotations

import numpy as np

from sast_live.events import EVENT_DTYPE

CD_OFF, CD_ON, TIME_HIGH = 0x0, 0x1, 0x8
MAX_COORD = (1 << 11) - 1
MAX_T = (1 << 34) - 1  # 28 + 6 bits of µs ≈ 4.8 hours


def encode_wire_words(events: np.ndarray) -> np.ndarray:
    """EVENT_DTYPE → uint32 words; a TIME_HIGH word opens the block and precedes every change of ``t >> 6``."""
    t = events["t"].astype(np.int64)
    high = t >> 6
    new_high = np.ones(len(t), bool)
    new_high[1:] = high[1:] != high[:-1]
    n_high = int(new_high.sum())
    words = np.empty(len(t) + n_high, np.uint32)
    # position of event i in the output: i plus the TIME_HIGH words emitted up to and including it
    pos = np.arange(len(t)) + np.cumsum(new_high)
    words[pos[new_high] - 1] = (np.uint32(TIME_HIGH) << 28) | (high[new_high] & 0x0FFFFFFF).astype(np.uint32)
    cd = ((events["p"].astype(np.uint32) & 1) << 28) | ((t & 0x3F).astype(np.uint32) << 22) \
        | ((events["x"].astype(np.uint32) & MAX_COORD) << 11) | (events["y"].astype(np.uint32) & MAX_COORD)
    words[pos] = cd
    return words


def decode_wire_words(words: np.ndarray, time_high: int = -1) -> tuple[np.ndarray, int]:
    """uint32 words → (EVENT_DTYPE events, last TIME_HIGH value); CD words before any TIME_HIGH are dropped.

    ``time_high`` carries the last TIME_HIGH value from the previous block (-1: none yet).
    """
    words = np.asarray(words, np.uint32)
    kind = words >> 28
    is_high = kind == TIME_HIGH
    idx = np.where(is_high, np.arange(len(words)), -1)
    last_high_idx = np.maximum.accumulate(idx) if len(idx) else idx
    high_vals = (words & 0x0FFFFFFF).astype(np.int64)
    current = np.where(last_high_idx >= 0, high_vals[np.maximum(last_high_idx, 0)], time_high)
    cd = ((kind == CD_OFF) | (kind == CD_ON)) & (current >= 0)
    w = words[cd]
    ev = np.empty(len(w), EVENT_DTYPE)
    ev["t"] = (current[cd] << 6) | ((w >> 22) & 0x3F).astype(np.int64)
    ev["x"] = (w >> 11) & MAX_COORD
    ev["y"] = w & MAX_COORD
    ev["p"] = (w >> 28) & 1
    last = int(current[-1]) if len(words) else time_high
    return ev, last
