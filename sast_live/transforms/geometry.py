"""Moving, resizing, turning and re-timing a whole recording: what the same gesture looks like from another
distance, place, camera angle or at another tempo (the robustness grid of ``evaluate --robustness``).

Pixels are mapped about the sensor's centre: ``p' = c + R(θ)·s·(p + u − c) + shift`` with ``u`` a uniform
sub-pixel offset per event (seeded), so an enlarged edge is filled rather than dotted with holes, and a
shrunk one keeps its events (several may land on one pixel). Times become ``t / speed`` (a faster gesture is a
shorter one). Events that leave the sensor are dropped, none is added. The result is sorted by time.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from sast_live.errors import SastLiveError
from sast_live.events import make_events

#: what a grid point may ask for (beyond these the recording is no longer the same scene)
LIMITS = {"scale": (0.25, 4.0), "shift": (-128, 128), "rotation": (-90.0, 90.0), "speed": (0.25, 4.0)}


@dataclass(frozen=True)
class Warp:
    """One geometry: ``scale`` (× size about the centre), ``shift`` (dx, dy) pixels, ``rotation`` degrees
    (counter-clockwise as seen on the screen, y down), ``speed`` (× tempo)."""

    scale: float = 1.0
    shift: tuple[int, int] = (0, 0)
    rotation: float = 0.0
    speed: float = 1.0

    def __post_init__(self):
        checks = (("scale", self.scale), ("shift", self.shift[0]), ("shift", self.shift[1]),
                  ("rotation", self.rotation), ("speed", self.speed))
        for name, value in checks:
            lo, hi = LIMITS[name]
            if not (isinstance(value, (int, float)) and math.isfinite(value) and lo <= value <= hi):
                raise SastLiveError(f"{name} {value!r} is out of range: it must be {lo:g} … {hi:g}")
        if any(float(v) != int(v) for v in self.shift):
            raise SastLiveError(f"shift {self.shift} must be whole pixels")
        object.__setattr__(self, "shift", (int(self.shift[0]), int(self.shift[1])))

    @property
    def identity(self) -> bool:
        return self == Warp()

    def label(self) -> str:
        parts = []
        if self.scale != 1.0:
            parts.append(f"scale {self.scale:g}")
        if self.shift != (0, 0):
            parts.append(f"shift {self.shift[0]:+d},{self.shift[1]:+d} px")
        if self.rotation:
            parts.append(f"rotation {self.rotation:+g}°")
        if self.speed != 1.0:
            parts.append(f"speed {self.speed:g}×")
        return ", ".join(parts) or "nominal"


def warp(events: np.ndarray, sensor_size, w: Warp, seed: int = 0) -> np.ndarray:
    """``events`` (EVENT_DTYPE) seen through ``w`` on a ``sensor_size`` (width, height) sensor; a new array."""
    if w.identity or not len(events):
        return events.copy()
    width, height = int(sensor_size[0]), int(sensor_size[1])
    rng = np.random.default_rng(seed)
    cx, cy = width / 2.0, height / 2.0
    x = events["x"].astype(np.float64) + rng.random(len(events)) - cx
    y = events["y"].astype(np.float64) + rng.random(len(events)) - cy
    a = math.radians(-w.rotation)  # counter-clockwise on a y-down screen
    ca, sa = math.cos(a), math.sin(a)
    xn = np.floor(cx + w.scale * (ca * x - sa * y) + w.shift[0]).astype(np.int64)
    yn = np.floor(cy + w.scale * (sa * x + ca * y) + w.shift[1]).astype(np.int64)
    t = np.rint(events["t"].astype(np.float64) / w.speed).astype(np.int64)
    keep = (xn >= 0) & (xn < width) & (yn >= 0) & (yn < height)
    out = make_events(t[keep], xn[keep], yn[keep], events["p"][keep])
    return out[np.argsort(out["t"], kind="stable")]
