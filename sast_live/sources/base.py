"""The one source protocol (DESIGN.md §5): ``open()/close()`` (a context manager), ``sensor_size``, iteration
over EVENT_DTYPE chunks (t non-decreasing within and across chunks), and a ``stats`` record.

Live sources also yield *empty* chunks while the line is quiet, so a consumer loop gets control back
regularly; :meth:`Source.clock_us` then says up to which sensor time every event has been delivered (the
watermark that lets a silent sensor still advance time), or None when the source cannot tell.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import asdict, dataclass

import numpy as np

from sast_live.events import SensorSize


@dataclass
class SourceStats:
    """Counters since the source opened (written by the reading thread; read a copy with :meth:`as_dict`).

    ``losses`` counts what is known to be lost (records skipped by a resync, frames missing from the sequence);
    ``invalid`` counts decoded events dropped for being outside the sensor or back in time.
    """

    events: int = 0
    bytes: int = 0
    resyncs: int = 0
    losses: int = 0
    invalid: int = 0
    crc_errors: int = 0
    reconnects: int = 0
    errors: int = 0
    last_error: str | None = None

    def as_dict(self) -> dict:
        return asdict(self)


class Source:
    """Base class. Subclasses set ``name``, ``sensor_size`` and implement :meth:`_chunks`."""

    name: str = "source"
    realtime: bool = True  # chunks arrive at the sensor's pace (a consumer that falls behind must drop bins)

    def __init__(self, sensor_size: SensorSize):
        self.sensor_size = sensor_size
        self.stats = SourceStats()
        self._stop = threading.Event()
        self._watermark: int | None = None

    def open(self):
        """Acquire the device or file; returns self. Opening twice is harmless."""
        self._stop.clear()
        return self

    def close(self) -> None:
        """Release it; a running iteration ends at its next chunk. Safe to call from another thread."""
        self._stop.set()

    def __enter__(self):
        return self.open()

    def __exit__(self, *exc):
        self.close()
        return False

    @property
    def closed(self) -> bool:
        return self._stop.is_set()

    def clock_us(self) -> int | None:
        """Sensor time up to which every event has been yielded (None before the first or if unknown)."""
        return self._watermark

    def _chunks(self) -> Iterator[np.ndarray]:
        raise NotImplementedError

    def __iter__(self) -> Iterator[np.ndarray]:
        for chunk in self._chunks():
            if len(chunk):
                self.stats.events += len(chunk)
            yield chunk
            if self.closed:
                return

    def describe(self) -> str:
        return f"{self.name} ({self.sensor_size.width}×{self.sensor_size.height})"
