"""The reader protocol shared by every file format.

A reader is opened on a path, knows its ``format`` and ``sensor_size``, and yields EVENT_DTYPE chunks of
bounded size from :meth:`EventReader.chunks`. Time windows (:meth:`EventReader.windows`) and whole-file reads
(:meth:`EventReader.read`) are built on those same chunks, so "whole file" and "streamed" are one code path.
Each chunk is validated as it leaves the reader: coordinates inside the sensor, time non-decreasing within
and across chunks; a violation raises :class:`EventFormatError` naming the file and byte offset.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from sast_live.errors import EventFormatError, SastLiveError
from sast_live.events import EVENT_DTYPE, SensorSize, as_sensor_size, check_events, concat, iter_time_windows

DEFAULT_CHUNK_EVENTS = 1 << 16
READ_ALL_CHUNK = 1 << 22  # read() returns everything anyway: fewer, larger blocks


class EventReader:
    """Base class: subclasses implement :meth:`_raw_chunks` yielding ``(byte_offset, events)``."""

    format: str = "?"
    decoder_checks: bool = False  # True: _raw_chunks already checked order and bounds as check_events does

    def __init__(self, path: str | os.PathLike, sensor_size: SensorSize | None = None,
                 chunk_events: int = DEFAULT_CHUNK_EVENTS):
        self.path = Path(path)
        if not self.path.is_file():
            raise EventFormatError(self.path, None, "no such file")
        self.file_size = self.path.stat().st_size
        self.chunk_events = int(chunk_events)
        if self.chunk_events < 1:
            raise SastLiveError(f"chunk size must be at least 1 event, got {chunk_events}")
        self._override_size = as_sensor_size(sensor_size)
        self.header: dict = {}
        self._sensor_size: SensorSize | None = None

    # -- geometry -------------------------------------------------------------------------------------
    @property
    def sensor_size(self) -> SensorSize | None:
        """Geometry from the caller, else from the file; None if the file does not say."""
        return self._override_size or self._sensor_size

    # -- iteration ------------------------------------------------------------------------------------
    def _raw_chunks(self, n: int) -> Iterator[tuple[int | None, np.ndarray]]:
        """Yield ``(byte offset or None, events)`` blocks of about ``n`` events, straight from the decoder."""
        raise NotImplementedError

    def chunks(self, chunk_events: int | None = None) -> Iterator[np.ndarray]:
        """Validated EVENT_DTYPE chunks of at most ``chunk_events`` (default: the reader's) events, in order."""
        n = int(chunk_events or self.chunk_events)
        last_t = None
        size = self.sensor_size
        for offset, ev in self._raw_chunks(n):
            if len(ev) == 0:
                continue
            if ev.dtype != EVENT_DTYPE:
                ev = ev.astype(EVENT_DTYPE)
            if not self.decoder_checks:
                self._check_block(ev, size, last_t, offset)
            last_t = int(ev["t"][-1])
            # some back ends (dv-processing batches, expelliarmus) choose their own sizes: keep the bound
            for start in range(0, len(ev), n):
                yield ev[start : start + n]

    def _check_block(self, events: np.ndarray, size, last_t: int | None, offset: int | None) -> None:
        """``check_events`` on a decoded block, its failure raised as an :class:`EventFormatError` at ``offset``
        (also how a decoder that checks as it decodes words the event it stopped at)."""
        try:
            check_events(events, size, last_t=last_t)
        except SastLiveError as exc:
            raise EventFormatError(self.path, offset, f"{exc} (in the block read there)") from None

    def _bounds(self) -> tuple[int, int]:
        """``(width, height)`` for a decoder's bound check; ``(0, 0)`` (no bound) when the size is unknown."""
        size = self.sensor_size
        return (int(size[0]), int(size[1])) if size is not None else (0, 0)

    def __iter__(self) -> Iterator[np.ndarray]:
        return self.chunks()

    def windows(self, window_us: int, t_start: int | None = None, t_end: int | None = None):
        """``(t0, t1, events)`` for consecutive windows of ``window_us`` µs, empty ones included."""
        return iter_time_windows(self.chunks(), window_us, t_start, t_end)

    def read(self) -> np.ndarray:
        """The whole file as one array: the same chunks as streaming, in blocks of up to 4 Mi events."""
        return concat(self.chunks(max(self.chunk_events, READ_ALL_CHUNK)))

    # -- context manager, for symmetry with live sources ----------------------------------------------
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def __repr__(self) -> str:
        return f"{type(self).__name__}({str(self.path)!r}, sensor_size={self.sensor_size})"


def read_prefix(path: Path, n: int) -> bytes:
    """The first ``n`` bytes of a file (fewer if it is shorter)."""
    with open(path, "rb") as fh:
        return fh.read(n)
