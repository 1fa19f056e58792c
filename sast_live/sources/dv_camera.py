"""USB event cameras (iniVation DVXplorer, DAVIS, DVS128) through dv-processing 2.x (the ``[dv]`` extra).

``dv:`` opens the first camera that ``dv.io.camera.discover()`` finds, ``dv:SERIAL`` the one with that serial
number (or whose name contains ``SERIAL``). The events come through the same path as an AEDAT 4 recording's
(:func:`sast_live.formats.aedat.dv_batch_events`): any dv-processing input with ``getNextEventBatch()`` — a
camera, or a ``dv.io.MonoCameraRecording`` — can be streamed by passing it as ``device`` (tests use a recording,
since no camera is plugged in on a build machine).
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import numpy as np

from sast_live.errors import SastLiveError
from sast_live.events import SensorSize, empty_events
from sast_live.formats.aedat import dv_batch_events, import_dv
from sast_live.sources.base import Source

POLL_S = 0.002  # a camera with nothing new is asked again this often


def find_camera(dv, name: str = ""):
    """The descriptor of the camera ``name`` (serial number or part of the model name; empty: the first)."""
    try:
        found = dv.io.camera.discover()
    except Exception as exc:  # libusb errors surface as RuntimeError
        raise SastLiveError(f"cannot look for USB event cameras: {exc}") from None
    if not found:
        raise SastLiveError("no USB event camera found (dv-processing discovered none): plug one in, and on Linux "
                            "check its udev rules (iniVation's dv-processing docs)")
    if not name:
        return found[0]
    for desc in found:
        if name in (desc.serialNumber, str(desc.cameraModel)) or name.lower() in str(desc.cameraModel).lower():
            return desc
    have = ", ".join(f"{d.cameraModel} {d.serialNumber}" for d in found)
    raise SastLiveError(f"no USB event camera {name!r}; found: {have}")


class DVCamera(Source):
    """The camera ``name`` (empty: the first found), or an already opened dv-processing input ``device``."""

    def __init__(self, name: str = "", device=None):
        if device is None:
            dv = import_dv()
            desc = find_camera(dv, name)
            try:
                device = dv.io.camera.open(desc)
            except Exception as exc:  # a camera that is busy or refuses to start
                raise SastLiveError(f"cannot open the USB camera {desc.cameraModel} {desc.serialNumber}: "
                                    f"{exc}") from None
        if not device.isEventStreamAvailable():
            raise SastLiveError(f"camera {device.getCameraName()} gives no event stream")
        w, h = device.getEventResolution()
        super().__init__(SensorSize(int(w), int(h)))
        self._camera = device
        self.name = f"camera {device.getCameraName()}"
        self._t_last = -1

    def _chunks(self) -> Iterator[np.ndarray]:
        while not self.closed:
            try:
                batch = self._camera.getNextEventBatch()
            except Exception as exc:  # the camera went away mid-read
                self.stats.errors += 1
                self.stats.last_error = f"{self.name}: {exc}"
                return
            if batch is None:
                if not self._camera.isRunning():  # a recording at its end, or an unplugged camera
                    return
                time.sleep(POLL_S)
                yield empty_events()
                continue
            ev = dv_batch_events(batch)
            keep = ev["t"] >= self._t_last  # the driver's batches are ordered; guard anyway
            self.stats.invalid += int(len(ev) - keep.sum())
            ev = ev[keep]
            if len(ev):
                self._t_last = int(ev["t"][-1])
                self._watermark = self._t_last
            yield ev
