"""The synthetic camera as a live source: a person performing random gestures in front of the DVS pixel model."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from sast_live.events import SensorSize
from sast_live.sources.paced import Pacer
from sast_live.sources.replay import SLICE_US, TimedSource
from sast_live.streams import iter_time_windows
from sast_live.synthetic import gestures


class SyntheticGestures(TimedSource):
    """Endless synthetic gestures (random classes, 2 s each, 200 ms pauses) at 128×128, paced.

    ``labels`` records ``(class, t_start, t_end)`` of each gesture generated so far.
    """

    name = "synthetic gestures"

    def __init__(self, speed: float | None = 1.0, seed: int = 0, count: int | None = None,
                 pacer: Pacer | None = None):
        super().__init__(SensorSize(*gestures.SENSOR), speed, pacer)
        self.seed, self.count = seed, count
        self.labels: list[tuple[int, int, int]] = []

    def _slices(self) -> Iterator[tuple[int, int, np.ndarray]]:
        rng = np.random.default_rng(self.seed)
        t_base, k = 0, 0
        while not self.closed and (self.count is None or k < self.count):
            cls = int(rng.integers(0, 11))
            events = gestures.make_sample(cls, self.seed * 100_003 + k, duration_s=2.0)
            events["t"] += t_base
            end = t_base + 2_200_000
            self.labels.append((cls, t_base, t_base + 2_000_000))
            yield from iter_time_windows([events], SLICE_US, t_start=t_base, t_end=end)
            t_base, k = end, k + 1
