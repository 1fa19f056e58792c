"""USB event cameras (iniVation DVXplorer / DAVIS and others) through dv-processing (the ``[dv]`` extra)."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from sast_live.errors import SastLiveError
from sast_live.events import SensorSize, empty_events, make_events
from sast_live.formats.aedat import import_dv
from sast_live.sources.base import Source


class DVCamera(Source):
    """The camera named ``name`` (empty: the first one found)."""

    def __init__(self, name: str = ""):
        dv = import_dv()
        try:
            self._camera = dv.io.CameraCapture(name) if name else dv.io.CameraCapture()
        except Exception as exc:  # dv-processing raises RuntimeError when no camera answers
            raise SastLiveError(f"no USB event camera {name or '(first found)'} available: {exc}") from None
        if not self._camera.isEventStreamAvailable():
            raise SastLiveError(f"camera {self._camera.getCameraName()} gives no event stream")
        w, h = self._camera.getEventResolution()
        super().__init__(SensorSize(int(w), int(h)))
        self.name = f"camera {self._camera.getCameraName()}"
        self._t_last = -1

    def _chunks(self) -> Iterator[np.ndarray]:
        import time

        while not self.closed:
            if not self._camera.isRunning():
                self.stats.errors += 1
                self.stats.last_error = f"{self.name} stopped (unplugged?)"
                return
            batch = self._camera.getNextEventBatch()
            if batch is None:
                time.sleep(0.002)
                yield empty_events()
                continue
            a = batch.numpy()
            ev = make_events(a["timestamp"], a["x"], a["y"], a["polarity"])
            keep = ev["t"] >= self._t_last  # the driver's batches are ordered; guard anyway
            self.stats.invalid += int(len(ev) - keep.sum())
            ev = ev[keep]
            if len(ev):
                self._t_last = int(ev["t"][-1])
                self._watermark = self._t_last
            yield ev
