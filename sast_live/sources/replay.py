"""Recorded streams as sources: paced to the recording's clock × speed, or as fast as possible; loop and seek.
:class:`TimedSource` is the pacing loop the synthetic camera (:mod:`sast_live.sources.synthetic`) shares.

The output time is the file's time plus an offset that grows by one recording length per loop and absorbs
seeks, so the stream a consumer sees is always non-decreasing in t, as a live camera's would be.
"""

from __future__ import annotations

import bisect
import os
import threading
from collections.abc import Iterator

import numpy as np

from sast_live.errors import SastLiveError
from sast_live.events import SensorSize
from sast_live.formats.registry import open_events
from sast_live.sources.base import Source
from sast_live.sources.paced import Pacer

SLICE_US = 5_000  # replay hands out 5 ms slices: smooth pacing, small latency


class TimedSource(Source):
    """Shared pacing loop over ``(t0, t1, events)`` slices from :meth:`_slices`."""

    def __init__(self, sensor_size: SensorSize, speed: float | None = 1.0, pacer: Pacer | None = None):
        super().__init__(sensor_size)
        if speed is not None and not speed > 0:
            raise SastLiveError(f"speed must be a positive factor (or None for as fast as possible), got {speed}")
        self.pacer = pacer or Pacer(speed)
        self.pacer.speed = speed
        self.realtime = speed is not None

    def _slices(self) -> Iterator[tuple[int, int, np.ndarray]]:
        raise NotImplementedError

    def set_speed(self, speed: float | None) -> None:
        self.pacer.set_speed(speed)
        self.realtime = speed is not None

    def set_paused(self, paused: bool) -> None:
        self.pacer.set_paused(paused)

    def close(self) -> None:
        super().close()
        self.pacer.interrupt()

    def _chunks(self) -> Iterator[np.ndarray]:
        for t0, t1, events in self._slices():
            self.pacer.wait_until(t1, self._stop)
            if self.closed:
                return
            if self._skip():  # a step that released it still owes its length to the slices after the seek
                self.pacer.extend(t1 - t0)
                continue
            self._watermark = t1
            self._released(t1)
            yield events

    def _skip(self) -> bool:
        """True to drop the slice that was waiting (a seek came while it waited)."""
        return False

    def _released(self, t1: int) -> None:
        """Called as the slice ending at output time ``t1`` is handed out."""


class FileSource(TimedSource):
    """Replay of any readable event file. ``loop`` restarts it; :meth:`seek` jumps (thread-safe)."""

    def __init__(self, path: str | os.PathLike, speed: float | None = 1.0, loop: bool = False,
                 start_us: int | None = None, fmt: str | None = None, sensor_size: SensorSize | None = None,
                 pacer: Pacer | None = None):
        self.reader = open_events(path, fmt, sensor_size)
        if self.reader.sensor_size is None:
            raise SastLiveError(f"{path}: the file does not say its sensor size; give one")
        super().__init__(self.reader.sensor_size, speed, pacer)
        self.path = path
        self.name = f"file {os.path.basename(os.fspath(path))}"
        self.loop = loop
        self._seek_to = None if start_us is None else int(start_us)
        self._seek_lock = threading.Lock()
        self.position_us: int | None = None  # file time up to which events were handed out
        self._offsets: list[tuple[int, int]] = []  # (output time a stretch starts at, output − file time there)
        #: seeks taken so far: it changes before the first slice from the new place is handed out (on the thread
        #: that iterates), so a consumer that reads it after each chunk knows where the stream jumped
        self.seeks = 0
        self.jumped_at_us = 0  # the output time the last seek continued the stream from

    def seek(self, t_us: int) -> None:
        """Continue from file time ``t_us`` at the next slice (output time keeps running forward)."""
        with self._seek_lock:
            self._seek_to = int(t_us)
        self.pacer.interrupt()

    def _skip(self) -> bool:
        with self._seek_lock:
            return self._seek_to is not None

    def _released(self, t1: int) -> None:
        self.position_us = self.file_time(t1)

    def file_time(self, t_out: int) -> int:
        """The file time of output time ``t_out`` (output time runs on across seeks and loops)."""
        offsets = self._offsets
        k = bisect.bisect_right(offsets, (int(t_out), float("inf"))) - 1
        return int(t_out) - (offsets[max(k, 0)][1] if offsets else 0)

    def _take_seek(self) -> int | None:
        with self._seek_lock:
            t, self._seek_to = self._seek_to, None
            return t

    def _slices(self) -> Iterator[tuple[int, int, np.ndarray]]:
        offset = 0  # output time = file time + offset
        out_t = None  # end of the last slice handed out, in output time
        start = self._take_seek()
        while not self.closed:
            emitted = False
            restart = None
            for t0, t1, events in self.reader.windows(SLICE_US, t_start=start):
                if out_t is None:
                    out_t = t0
                    offset = 0
                    self._offsets = [(t0, 0)]
                elif not emitted:  # first slice after a (re)start: continue the output clock from out_t
                    offset = out_t - t0
                    self._offsets = [*self._offsets[-31:], (out_t, offset)]  # new list: readers see old or new
                emitted = True
                if offset:
                    events = events.copy()
                    events["t"] += offset
                out_t = t1 + offset
                yield t0 + offset, out_t, events
                restart = self._take_seek()
                if restart is not None or self.closed:
                    break
            if restart is not None:
                start = restart
                self.jumped_at_us = out_t or 0
                self.seeks += 1
                continue
            if not emitted or not self.loop:
                return
            start = None
