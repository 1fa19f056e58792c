"""Anti-aliased capsule rendering (numba, with a NumPy twin): how the synthetic figures are drawn.

A capsule is the set of points within radius ``r`` of the segment ``(x0, y0)–(x1, y1)``; its coverage of a
pixel centre at distance ``d`` is ``clip(r - d + 0.5, 0, 1)`` (one-pixel soft edge), and the pixel becomes
``max(coverage) · value + (1 - max(coverage)) · background``.
"""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True, nogil=True)
def render_capsules(caps, value, background, out):  # pragma: no cover - compiled
    """caps (N, 5) rows ``x0, y0, x1, y1, r``; background (H, W); writes the frame into ``out`` (H, W)."""
    h, w = out.shape
    cover = np.zeros((h, w))
    for c in range(caps.shape[0]):
        x0, y0, x1, y1, r = caps[c, 0], caps[c, 1], caps[c, 2], caps[c, 3], caps[c, 4]
        xa = max(0, int(np.floor(min(x0, x1) - r - 1)))
        xb = min(w - 1, int(np.ceil(max(x0, x1) + r + 1)))
        ya = max(0, int(np.floor(min(y0, y1) - r - 1)))
        yb = min(h - 1, int(np.ceil(max(y0, y1) + r + 1)))
        dx, dy = x1 - x0, y1 - y0
        ll = dx * dx + dy * dy
        for yy in range(ya, yb + 1):
            for xx in range(xa, xb + 1):
                u = 0.0 if ll == 0.0 else ((xx - x0) * dx + (yy - y0) * dy) / ll
                u = min(max(u, 0.0), 1.0)
                ex, ey = xx - (x0 + u * dx), yy - (y0 + u * dy)
                cov = min(max(r - np.sqrt(ex * ex + ey * ey) + 0.5, 0.0), 1.0)
                if cov > cover[yy, xx]:
                    cover[yy, xx] = cov
    for yy in range(h):
        for xx in range(w):
            out[yy, xx] = cover[yy, xx] * value + (1.0 - cover[yy, xx]) * background[yy, xx]


def render_capsules_reference(caps, value, background, out):
    """NumPy twin of :func:`render_capsules` (dense distance fields)."""
    h, w = out.shape
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float64)
    cover = np.zeros((h, w))
    for x0, y0, x1, y1, r in np.asarray(caps, np.float64):
        dx, dy = x1 - x0, y1 - y0
        ll = dx * dx + dy * dy
        u = np.zeros_like(xx) if ll == 0 else np.clip(((xx - x0) * dx + (yy - y0) * dy) / ll, 0, 1)
        d = np.hypot(xx - (x0 + u * dx), yy - (y0 + u * dy))
        cover = np.maximum(cover, np.clip(r - d + 0.5, 0, 1))
    out[...] = cover * value + (1 - cover) * background
