"""Which pixels reach the network: a region of interest (a rectangle of the sensor) and a hot-pixel mask, applied
to events before every filter — what a user sets in the window to keep a busy background or a stuck pixel out of
the answer. Pure NumPy: a boolean image looked up per event (one gather per chunk, no per-event Python).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sast_live.errors import SastLiveError
from sast_live.events import SensorSize

#: a pixel is hot when it fired at least this many times the 90th percentile of the pixels that fired …
HOT_FACTOR = 10.0
#: … and at least this many times in the events looked at
HOT_MIN_EVENTS = 10


@dataclass(frozen=True)
class PixelMask:
    """The pixels kept: inside ``roi`` (``(x0, y0, x1, y1)``, x1 and y1 exclusive, in sensor pixels; None: the whole
    sensor) and not in ``hot`` (``((x, y), …)``)."""

    sensor_size: SensorSize
    roi: tuple[int, int, int, int] | None = None
    hot: tuple[tuple[int, int], ...] = ()

    def __post_init__(self):
        w, h = self.sensor_size.width, self.sensor_size.height
        if self.roi is not None:
            x0, y0, x1, y1 = (int(v) for v in self.roi)
            if not (0 <= x0 < x1 <= w and 0 <= y0 < y1 <= h):
                raise SastLiveError(f"region of interest {self.roi} is not a rectangle inside the {w}×{h} sensor "
                                    "(x0 y0 x1 y1, x1 and y1 exclusive)")
            object.__setattr__(self, "roi", (x0, y0, x1, y1))
        hot = tuple(sorted({(int(x), int(y)) for x, y in self.hot}))
        if any(not (0 <= x < w and 0 <= y < h) for x, y in hot):
            raise SastLiveError(f"a masked pixel lies outside the {w}×{h} sensor")
        object.__setattr__(self, "hot", hot)

    @property
    def empty(self) -> bool:
        """True when it keeps every pixel."""
        return self.roi is None and not self.hot

    def keep(self) -> np.ndarray:
        """(H, W) bool: the pixels whose events go on."""
        keep = np.zeros((self.sensor_size.height, self.sensor_size.width), bool)
        x0, y0, x1, y1 = self.roi or (0, 0, self.sensor_size.width, self.sensor_size.height)
        keep[y0:y1, x0:x1] = True
        for x, y in self.hot:
            keep[y, x] = False
        return keep

    def describe(self) -> str:
        parts = []
        if self.roi is not None:
            x0, y0, x1, y1 = self.roi
            parts.append(f"region {x0},{y0}–{x1},{y1}")
        if self.hot:
            parts.append(f"{len(self.hot)} hot pixel{'s' * (len(self.hot) != 1)} masked")
        return ", ".join(parts)


def apply_mask(events: np.ndarray, keep: np.ndarray) -> np.ndarray:
    """The events at pixels ``keep`` (H, W) marks (order kept)."""
    if len(events) == 0:
        return events
    return events[keep[events["y"], events["x"]]]


def pixel_counts(events: np.ndarray, sensor_size: SensorSize) -> np.ndarray:
    """(H, W) int64: events per pixel."""
    w, h = sensor_size.width, sensor_size.height
    return np.bincount(events["y"].astype(np.int64) * w + events["x"], minlength=w * h).reshape(h, w)


def hot_pixels(counts: np.ndarray, factor: float = HOT_FACTOR, min_events: int = HOT_MIN_EVENTS
               ) -> tuple[tuple[int, int], ...]:
    """The pixels of ``counts`` (H, W; events per pixel over a second or more of the raw stream) that fired at least
    ``factor`` × the 90th percentile of the pixels that fired, and at least ``min_events`` times: a stuck or leaky
    pixel stands out of any scene by far, where a moving edge spreads over many pixels (in the real recordings
    here: 0–27 such pixels of 450–168,000 that fired); ``((x, y), …)``."""
    fired = counts[counts > 0]
    if len(fired) == 0:
        return ()
    ys, xs = np.nonzero(counts >= max(min_events, factor * float(np.percentile(fired, 90))))
    return tuple(zip(xs.tolist(), ys.tolist(), strict=True))
