"""N-MNIST 40-bit binary files (``.bin``, and the ``.bs2`` copies in shared/data/real).

Each event is 5 bytes: x (8 bits), y (8 bits), polarity (bit 7 of byte 2), timestamp (23 bits, µs).
Reading goes through tonic's reader (``tonic.io.read_mnist_file``), converted to EVENT_DTYPE here where the
data enters. The files are small (≤ 40 kB), so a file is read whole and then served in chunks.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import numpy as np

from sast_live.errors import EventFormatError
from sast_live.events import TONIC_DTYPE, SensorSize, as_sensor_size, check_events, from_fields
from sast_live.formats.base import EventReader

NMNIST_SENSOR = SensorSize(34, 34)
NMNIST_MAX_T = (1 << 23) - 1
OVERFLOW_Y = 240  # tonic's reader treats y == 240 as a timestamp-overflow marker, never as an event


class NMNISTReader(EventReader):
    format = "NMNIST"

    def __init__(self, path, sensor_size=None, chunk_events=1 << 16):
        super().__init__(path, sensor_size, chunk_events)
        self._sensor_size = NMNIST_SENSOR
        if self.file_size % 5:
            raise EventFormatError(self.path, self.file_size - self.file_size % 5,
                                   "file ends inside a 5-byte N-MNIST event")

    def _raw_chunks(self, n: int) -> Iterator[tuple[int, np.ndarray]]:
        import tonic.io

        raw = tonic.io.read_mnist_file(str(self.path), dtype=TONIC_DTYPE)
        events = from_fields(raw)
        for start in range(0, len(events), n):
            yield 5 * start, events[start : start + n]


def write_nmnist(path: str | os.PathLike, events: np.ndarray, sensor_size=None) -> int:
    """Write ``events`` in the N-MNIST 40-bit format; returns bytes written."""
    sensor_size = as_sensor_size(sensor_size)
    check_events(events, sensor_size)
    if len(events):
        if events["t"][0] < 0 or events["t"][-1] > NMNIST_MAX_T:
            raise EventFormatError(path, None, f"N-MNIST timestamps are 23-bit: t must lie in [0, {NMNIST_MAX_T}] µs")
        if events["x"].max() > 255 or events["y"].max() >= OVERFLOW_Y:
            raise EventFormatError(path, None, "N-MNIST addresses are 8-bit (and y = 240 is reserved)")
    t = events["t"].astype(np.int64)
    rec = np.empty((len(events), 5), dtype=np.uint8)
    rec[:, 0] = events["x"]
    rec[:, 1] = events["y"]
    rec[:, 2] = (events["p"].astype(np.int64) << 7) | ((t >> 16) & 0x7F)
    rec[:, 3] = (t >> 8) & 0xFF
    rec[:, 4] = t & 0xFF
    data = rec.tobytes()
    with open(path, "wb") as fh:
        fh.write(data)
    return len(data)
