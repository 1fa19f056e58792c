"""The event view's image: ON minus OFF events per pixel over a recent window, optionally fading with age.

Computed on the pipeline's worker for every published snapshot (:class:`~sast_live.transforms.config.EventImageConfig`
says how far back and how events fade); the window only colours it.
"""

from __future__ import annotations

import numpy as np

from sast_live.errors import SastLiveError

DECAYS = ("none", "linear", "exponential")


def accumulate(chunks, width: int, height: int, window_us: int, decay: str = "none",
               t_now: int | None = None) -> np.ndarray:
    """ON minus OFF events per pixel over the last ``window_us`` before ``t_now`` (default: the newest event).

    ``chunks``: EVENT_DTYPE arrays in time order. ``decay`` weighs an event of age a: ``none`` 1 within the
    window; ``linear`` 1 − a/window; ``exponential`` exp(−3a/window) (down to 5 % at the window's edge).
    Returns (height, width) float32.
    """
    if decay not in DECAYS:
        raise SastLiveError(f"decay must be one of {DECAYS}, got {decay!r}")
    frame = np.zeros(height * width, np.float32)
    chunks = [c for c in chunks if len(c)]
    if not chunks:
        return frame.reshape(height, width)
    if t_now is None:
        t_now = int(chunks[-1]["t"][-1])
    start = t_now - int(window_us)
    chunks = [c for c in chunks if int(c["t"][-1]) >= start]
    if not chunks:
        return frame.reshape(height, width)
    ev = np.concatenate(chunks)
    ev = ev[(ev["t"] >= start) & (ev["t"] <= t_now)]
    sign = np.where(ev["p"] > 0, 1.0, -1.0)
    if decay != "none":
        age = (t_now - ev["t"].astype(np.float64)) / max(int(window_us), 1)
        sign = sign * (1.0 - age if decay == "linear" else np.exp(-3.0 * age))
    idx = ev["y"].astype(np.int64) * width + ev["x"].astype(np.int64)
    return np.bincount(idx, weights=sign, minlength=height * width).astype(np.float32).reshape(height, width)
