"""Recording any source to an event file without losing what arrived: ``main.py record`` and the GUI's record button.

Chunks are appended to ``PATH.part`` (raw EVENT_DTYPE records) as they arrive; ``PATH`` is written at the end and
only then is the spool removed, so a crash or Ctrl-C loses nothing.
"""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

import numpy as np

from sast_live.errors import SastLiveError
from sast_live.events import EVENT_DTYPE


class Recorder:
    """Appends chunks to ``PATH.part`` (raw EVENT_DTYPE records) as they arrive and writes ``PATH`` at
    :meth:`finish`; the spool is removed only after the file was written, so a crash loses nothing."""

    def __init__(self, path: str | os.PathLike, sensor_size, fmt: str | None = None):
        from sast_live.formats.registry import format_for_output

        self.path, self.sensor_size, self.fmt = Path(path), sensor_size, fmt
        format_for_output(self.path, fmt)  # fail on an unknown extension before recording anything
        self.spool = self.path.with_name(self.path.name + ".part")
        self._fh = open(self.spool, "wb")
        self._lock = threading.Lock()  # write() runs on the reader thread, finish() on the caller's
        self.events = 0

    def write(self, chunk: np.ndarray) -> None:
        with self._lock:
            if len(chunk) and self._fh is not None:
                self._fh.write(np.ascontiguousarray(chunk, EVENT_DTYPE).tobytes())
                self.events += len(chunk)

    def finish(self) -> tuple[int, int]:
        """Write the file; returns (events, bytes)."""
        from sast_live.formats.registry import write_events

        with self._lock:
            fh, self._fh = self._fh, None
        if fh is not None:
            fh.close()
        events = np.fromfile(self.spool, dtype=EVENT_DTYPE)
        if len(events) == 0:
            self.spool.unlink()
            raise SastLiveError(f"no events arrived; nothing recorded to {self.path}")
        size = write_events(self.path, events, self.sensor_size, self.fmt)
        self.spool.unlink()
        return len(events), size


def record(source, path: str | os.PathLike, seconds: float | None = None, fmt: str | None = None,
           progress: bool = True) -> tuple[int, int]:
    """Save ``source`` (not yet opened; e.g. from :meth:`sast_live.session.SourceOptions.open`) to ``path`` (format
    from ``fmt`` or the extension) until it ends, ``seconds`` pass or Ctrl-C; returns (events, bytes)."""
    from tqdm import tqdm

    rec = Recorder(path, source.sensor_size, fmt)
    deadline = None if seconds is None else time.monotonic() + seconds
    bar = tqdm(desc=f"recording {source.name}", unit=" ev", disable=not progress)
    try:
        with source:
            for chunk in source:
                rec.write(chunk)
                bar.update(len(chunk))
                if deadline is not None and time.monotonic() > deadline:
                    break
    except KeyboardInterrupt:
        pass
    finally:
        bar.close()
    return rec.finish()
