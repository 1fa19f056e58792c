"""What the panels compute before they draw, as pure NumPy functions (no Qt): the event view's accumulated frame,
its colour schemes, the class colours of the timeline and the onset of the latest burst of activity.
"""

from __future__ import annotations

import numpy as np

DECAYS = ("none", "linear", "exponential")

#: (OFF, nothing, ON) colours of each event-view scheme
SCHEMES = {
    "yellow / blue (colour-blind safe)": ((40, 120, 255), (22, 22, 28), (255, 210, 40)),
    "orange / sky blue (Okabe-Ito, colour-blind safe)": ((86, 180, 233), (18, 18, 22), (230, 159, 0)),
    "white / black on grey": ((0, 0, 0), (128, 128, 128), (255, 255, 255)),
    "green / red": ((220, 40, 40), (22, 22, 28), (40, 220, 80)),
}
DEFAULT_SCHEME = next(iter(SCHEMES))

#: the timeline's class colours (Okabe-Ito first, then further distinct hues); "no gesture" is grey
CLASS_COLOURS = [(230, 159, 0), (86, 180, 233), (0, 158, 115), (240, 228, 66), (0, 114, 178), (213, 94, 0),
                 (204, 121, 167), (160, 82, 45), (148, 103, 189), (23, 190, 207), (188, 189, 34), (255, 255, 255),
                 (255, 127, 14), (44, 160, 44), (214, 39, 40), (127, 127, 127)]
NO_GESTURE_COLOUR = (70, 70, 78)


def class_colour(k: int) -> tuple[int, int, int]:
    """Colour of class ``k`` on the timeline (−1: no gesture)."""
    return NO_GESTURE_COLOUR if k < 0 else CLASS_COLOURS[k % len(CLASS_COLOURS)]


def lookup_table(scheme: str, n: int = 256) -> np.ndarray:
    """(n, 3) uint8: OFF colour at 0, nothing at the middle, ON colour at n − 1, linear between."""
    off, mid, on = (np.asarray(c, np.float64) for c in SCHEMES[scheme])
    x = np.linspace(-1.0, 1.0, n)[:, None]
    return np.where(x < 0, mid + (mid - off) * x, mid + (on - mid) * x).round().astype(np.uint8)


def accumulate(chunks, width: int, height: int, window_us: int, decay: str = "none",
               t_now: int | None = None) -> np.ndarray:
    """ON minus OFF events per pixel over the last ``window_us`` before ``t_now`` (default: the newest event).

    ``chunks``: EVENT_DTYPE arrays in time order. ``decay`` weighs an event of age a: ``none`` 1 within the
    window; ``linear`` 1 − a/window; ``exponential`` exp(−3a/window) (down to 5 % at the window's edge).
    Returns (height, width) float32.
    """
    if decay not in DECAYS:
        raise ValueError(f"decay must be one of {DECAYS}, got {decay!r}")
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


def activity_onset(events_per_bin: np.ndarray, factor: float = 3.0, gap_bins: int = 2) -> int | None:
    """Index of the first bin of the burst of activity that runs to the last bin, or None if the last bin is quiet.

    Quiet is the 20th percentile of the bins (at least 1 event); a bin is active above ``factor`` × that. Up to
    ``gap_bins`` quiet bins inside a burst do not end it (a gesture has pauses between strokes)."""
    e = np.asarray(events_per_bin, np.float64)
    if len(e) == 0:
        return None
    active = e > factor * max(float(np.percentile(e, 20)), 1.0)
    if not active[-1]:
        return None
    k, quiet = len(e) - 1, 0
    onset = k
    while k >= 0:
        if active[k]:
            onset, quiet = k, 0
        else:
            quiet += 1
            if quiet > gap_bins:
                break
        k -= 1
    return onset
