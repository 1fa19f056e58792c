"""Painting filled, shaded, textured shapes into a frame (numba, with a NumPy twin): the people of the second
synthetic gesture generation are made of these.

A shape is a capsule — every point within radius ``r`` of the segment ``(x0, y0)–(x1, y1)`` — painted over what
is already in the frame (painter's order: later rows on top), anti-aliased over one pixel. Its intensity at a
pixel is ``value · shading · texture``:

* shading ``1 − shade · (d/r)²`` darkens towards the outline, ``d`` the distance to the axis (a cylinder lit
  from the camera: limbs, torso and head read as solids, not flat cut-outs);
* texture ``1 + tex_amp · sin(tex_freq · (u·cos a + v·sin a) + tex_phase)`` with ``(u, v)`` the position along
  and across the segment, so a shirt's stripes move with the arm that wears them.

Rows of the ``(N, SHAPE_COLUMNS)`` float64 array: ``x0 y0 x1 y1 r value shade tex_amp tex_freq tex_phase
tex_angle``. Coordinates are pixels, x to the right, y down; ``value`` is reflectance (0 black … 1 white).
"""

from __future__ import annotations

import numpy as np
from numba import njit

SHAPE_COLUMNS = 11
X0, Y0, X1, Y1, R, VALUE, SHADE, TEX_AMP, TEX_FREQ, TEX_PHASE, TEX_ANGLE = range(SHAPE_COLUMNS)


@njit(cache=True, nogil=True)
def paint(shapes, out, dx, dy):  # pragma: no cover - compiled
    """Paint ``shapes`` over ``out`` (H, W) in place, every shape shifted by ``(dx, dy)`` pixels."""
    h, w = out.shape
    for c in range(shapes.shape[0]):
        x0, y0 = shapes[c, 0] + dx, shapes[c, 1] + dy
        x1, y1 = shapes[c, 2] + dx, shapes[c, 3] + dy
        r = shapes[c, 4]
        value, shade = shapes[c, 5], shapes[c, 6]
        amp, freq, phase, angle = shapes[c, 7], shapes[c, 8], shapes[c, 9], shapes[c, 10]
        ca, sa = np.cos(angle), np.sin(angle)
        xa = max(0, int(np.floor(min(x0, x1) - r - 1)))
        xb = min(w - 1, int(np.ceil(max(x0, x1) + r + 1)))
        ya = max(0, int(np.floor(min(y0, y1) - r - 1)))
        yb = min(h - 1, int(np.ceil(max(y0, y1) + r + 1)))
        sx, sy = x1 - x0, y1 - y0
        length = np.sqrt(sx * sx + sy * sy)
        ux, uy = (sx / length, sy / length) if length > 0.0 else (1.0, 0.0)
        for yy in range(ya, yb + 1):
            for xx in range(xa, xb + 1):
                px, py = xx - x0, yy - y0
                along = px * ux + py * uy  # position along the axis, and across it
                across = py * ux - px * uy
                u = min(max(along, 0.0), length)
                ex, ey = px - u * ux, py - u * uy
                d = np.sqrt(ex * ex + ey * ey)
                cov = min(max(r - d + 0.5, 0.0), 1.0)
                if cov <= 0.0:
                    continue
                q = min(d / r, 1.0) if r > 0.0 else 1.0
                tex = 1.0 + amp * np.sin(freq * (along * ca + across * sa) + phase)
                val = value * (1.0 - shade * q * q) * tex
                out[yy, xx] = cov * val + (1.0 - cov) * out[yy, xx]


def paint_reference(shapes, out, dx, dy):
    """NumPy twin of :func:`paint` (dense per shape)."""
    h, w = out.shape
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float64)
    for row in np.asarray(shapes, np.float64):
        x0, y0, x1, y1, r, value, shade, amp, freq, phase, angle = row
        x0, y0, x1, y1 = x0 + dx, y0 + dy, x1 + dx, y1 + dy
        sx, sy = x1 - x0, y1 - y0
        length = np.hypot(sx, sy)
        ux, uy = (sx / length, sy / length) if length > 0 else (1.0, 0.0)
        px, py = xx - x0, yy - y0
        along, across = px * ux + py * uy, py * ux - px * uy
        u = np.clip(along, 0.0, length)
        d = np.hypot(px - u * ux, py - u * uy)
        cov = np.clip(r - d + 0.5, 0.0, 1.0)
        # the kernel only visits the shape's bounding box (one pixel of margin): the same pixels here
        box = (xx >= np.floor(min(x0, x1) - r - 1)) & (xx <= np.ceil(max(x0, x1) + r + 1)) & \
              (yy >= np.floor(min(y0, y1) - r - 1)) & (yy <= np.ceil(max(y0, y1) + r + 1))
        cov = np.where(box, cov, 0.0)
        q = np.minimum(d / r, 1.0) if r > 0 else np.ones_like(d)
        val = value * (1.0 - shade * q * q) * (1.0 + amp * np.sin(freq * (along * np.cos(angle) + across *
                                                                          np.sin(angle)) + phase))
        out[...] = np.where(cov > 0, cov * val + (1.0 - cov) * out, out)
