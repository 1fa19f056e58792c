"""The window's colours, as plain data and NumPy (no Qt): the event view's ON/OFF schemes and their lookup tables,
and the timeline's class colours. What is drawn is computed by the pipeline's worker (the snapshot's frame)."""

from __future__ import annotations

import numpy as np

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
