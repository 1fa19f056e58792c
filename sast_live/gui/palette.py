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

def _rgb(*hexes: str) -> list[tuple[int, int, int]]:
    return [tuple(int(h[i:i + 2], 16) for i in (1, 3, 5)) for h in hexes]


#: the timeline's class colours: twelve picked from the Okabe-Ito and Paul Tol palettes to be told apart — from
#: each other, from the no-gesture grey and from the black strip — with normal vision and with each of the three
#: colour-vision deficiencies (:func:`min_separation`: ΔE ≥ 15.7 in every case, where the earlier palette fell to
#: 4.3 under protanopia); four more for taught classes (ΔE ≥ 11.4), then they repeat
CLASS_COLOURS = _rgb("#77AADD", "#DDCC77", "#D55E00", "#FFFFFF", "#AA4499", "#FFAABB", "#332288", "#117733",
                     "#99DDFF", "#CC6677", "#E69F00", "#CC79A7", "#AA3377", "#999933", "#44BB99", "#EE8866")
NO_GESTURE_COLOUR = (70, 70, 78)
UNFAMILIAR_COLOUR = (90, 40, 90)  # a dark plum: apart from the grey and the classes (ΔE ≥ 13.5 in every vision)
STRIP_BACKGROUND = (0, 0, 0)

# Machado, Oliveira & Fernandes (2009) simulation matrices at full severity, on linear RGB
_VISIONS = {
    "normal": np.eye(3),
    "protanopia": np.array([[0.152286, 1.052583, -0.204868], [0.114503, 0.786281, 0.099216],
                            [-0.003882, -0.048116, 1.051998]]),
    "deuteranopia": np.array([[0.367322, 0.860646, -0.227968], [0.280085, 0.672501, 0.047413],
                              [-0.011820, 0.042940, 0.968881]]),
    "tritanopia": np.array([[1.255528, -0.076749, -0.178779], [-0.078411, 0.930809, 0.147602],
                            [0.004733, 0.691367, 0.303900]]),
}


def _lab(rgb: np.ndarray) -> np.ndarray:
    """CIELAB (D65) of linear RGB (…, 3) in 0…1."""
    xyz = rgb @ np.array([[0.4124, 0.3576, 0.1805], [0.2126, 0.7152, 0.0722], [0.0193, 0.1192, 0.9505]]).T
    xyz = xyz / np.array([0.95047, 1.0, 1.08883])
    f = np.where(xyz > 216 / 24389, np.cbrt(xyz), (24389 / 27 * xyz + 16) / 116)
    return np.stack([116 * f[..., 1] - 16, 500 * (f[..., 0] - f[..., 1]), 200 * (f[..., 1] - f[..., 2])], -1)


def min_separation(colours) -> dict[str, float]:
    """The smallest CIELAB ΔE (1976) between any two of ``colours`` (sRGB 0–255), as seen with normal vision and
    with each simulated colour-vision deficiency (ΔE ≈ 2.3 is a just-noticeable difference)."""
    c = np.asarray(colours, np.float64) / 255
    lin = np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)
    out = {}
    for name, m in _VISIONS.items():
        lab = _lab(np.clip(lin @ m.T, 0, 1))
        d = np.linalg.norm(lab[:, None] - lab[None], axis=-1)
        d[np.eye(len(c), dtype=bool)] = np.inf
        out[name] = float(d.min())
    return out


def class_colour(k: int) -> tuple[int, int, int]:
    """Colour of class ``k`` on the timeline (−1: no gesture, −2: unfamiliar scene)."""
    if k < 0:
        return UNFAMILIAR_COLOUR if k == -2 else NO_GESTURE_COLOUR
    return CLASS_COLOURS[k % len(CLASS_COLOURS)]


def lookup_table(scheme: str, n: int = 256) -> np.ndarray:
    """(n, 3) uint8: OFF colour at 0, nothing at the middle, ON colour at n − 1, linear between."""
    off, mid, on = (np.asarray(c, np.float64) for c in SCHEMES[scheme])
    x = np.linspace(-1.0, 1.0, n)[:, None]
    return np.where(x < 0, mid + (mid - off) * x, mid + (on - mid) * x).round().astype(np.uint8)
