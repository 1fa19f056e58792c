"""NumPy ``.npy`` files: EVENT_DTYPE records (ours), any structured t/x/y/p array, or tonic's DVS Gesture layout.

tonic stores DVS Gesture samples as a float ``(N, 4)`` array with columns x, y, p, t where t is in
**milliseconds**; those are recognised by their shape and converted to µs (rounded) where they enter.
The array is memory-mapped and served in chunks, so large files stay out of RAM.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import numpy as np

from sast_live.errors import EventFormatError
from sast_live.events import EVENT_DTYPE, SensorSize, as_sensor_size, check_events, from_fields, make_events
from sast_live.formats.base import EventReader

DVS_GESTURE_SENSOR = SensorSize(128, 128)
SENSOR_KEY = "sensor_size"  # we store geometry beside the array in a sidecar JSON


class NpyReader(EventReader):
    format = "NPY"

    def __init__(self, path, sensor_size=None, chunk_events=1 << 16):
        super().__init__(path, sensor_size, chunk_events)
        try:
            self._array = np.load(self.path, mmap_mode="r", allow_pickle=False)
        except Exception as exc:  # numpy raises ValueError, OSError, EOFError, TokenError... on bad headers
            raise EventFormatError(self.path, None, f"not a readable .npy file ({exc})") from exc
        arr = self._array
        self.layout = "events"
        if arr.dtype.names is None:
            if arr.ndim == 2 and arr.shape[1] == 4 and arr.dtype.kind in "fiu":
                self.layout = "tonic-gesture"  # x, y, p, t[ms]
                self._sensor_size = DVS_GESTURE_SENSOR
            else:
                raise EventFormatError(self.path, None,
                                       f"array of shape {arr.shape} / {arr.dtype} is not an event array")
        elif arr.ndim != 1:
            raise EventFormatError(self.path, None, f"structured event array must be 1-D, got {arr.shape}")
        meta = self.path.with_suffix(".json")
        if self._sensor_size is None and meta.is_file():
            import json

            try:
                self._sensor_size = as_sensor_size(json.loads(meta.read_text()).get(SENSOR_KEY))
            except (ValueError, AttributeError):
                self._sensor_size = None

    def _convert(self, block: np.ndarray) -> np.ndarray:
        if self.layout == "tonic-gesture":
            block = np.asarray(block, dtype=np.float64)
            if not np.all(np.isfinite(block)):
                raise EventFormatError(self.path, None, "non-finite values in the event array")
            t_us = np.rint(block[:, 3] * 1000.0).astype(np.int64)
            return make_events(t_us, block[:, 0], block[:, 1], block[:, 2] > 0)
        if block.dtype == EVENT_DTYPE:
            return np.array(block)
        return from_fields(np.array(block))

    def _raw_chunks(self, n: int) -> Iterator[tuple[int, np.ndarray]]:
        total = len(self._array)
        for start in range(0, total, n):
            try:
                yield None, self._convert(self._array[start : start + n])
            except EventFormatError:
                raise
            except Exception as exc:  # out-of-range values etc.
                raise EventFormatError(self.path, None, f"events {start}..: {exc}") from exc


def write_npy(path: str | os.PathLike, events: np.ndarray, sensor_size=None) -> int:
    """Save ``events`` as a ``.npy`` of EVENT_DTYPE, with the geometry in a sidecar ``.json``."""
    import json

    sensor_size = as_sensor_size(sensor_size)
    check_events(events, sensor_size)
    np.save(path, np.ascontiguousarray(events, dtype=EVENT_DTYPE), allow_pickle=False)
    path = os.fspath(path)
    if sensor_size is not None:
        meta = os.path.splitext(path)[0] + ".json"
        with open(meta, "w") as fh:
            json.dump({SENSOR_KEY: list(sensor_size)}, fh)
    return os.path.getsize(path)
