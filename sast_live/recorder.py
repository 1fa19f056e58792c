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


#: empty takes in a row that are recorded again before recording stops
MAX_EMPTY_TAKES = 5


def record_takes(source, takes, name: str, n: int = 1, seconds: float = 2.0, gap_s: float = 1.0,
                 progress: bool = True, say=print) -> list:
    """Record ``n`` takes of class ``name`` from ``source`` (not yet opened) into ``takes``
    (:class:`sast_live.takes.TakeSet`): a ``gap_s`` pause to get ready, ``seconds`` of events, and so on, timed by
    the events' own clock (a paced source: wall time; ``--speed 0``: as fast as the source renders). Each take is
    stored (atomically) as soon as it is complete; a take without events is reported and recorded again (up to
    :data:`MAX_EMPTY_TAKES` in a row); a take that cannot be written (a full disk, a read-only folder) ends the
    recording with that reason, never retried; Ctrl-C, the end of the source or an error keeps every take already
    stored. Returns the stored :class:`~sast_live.takes.Take`s."""
    from tqdm import tqdm

    from sast_live.takes import TakeCollector

    if n < 1 or not seconds > 0 or gap_s < 0:
        raise SastLiveError(f"need --takes ≥ 1, --seconds > 0 and --gap ≥ 0; got {n}, {seconds}, {gap_s}")
    takes.label_of(name, add=True)  # a bad name fails before the source is opened
    gap = int(round(gap_s * 1e6))
    stored, collector, end = [], None, None  # end: the last take's end (µs on the stream's clock)
    empties = 0  # empty takes in a row
    bar = tqdm(total=n, desc=f"takes of {name}", unit="take", disable=not progress)
    say(f"take 1/{n} of {name!r}: get ready ({gap_s:g} s), then {seconds:g} s of recording")
    try:
        with source:
            for chunk in source:
                while len(chunk) and len(stored) < n:
                    if collector is None:  # a take starts a gap after the last one's end (the first: the first event)
                        start = (int(chunk["t"][0]) if end is None else end) + gap
                        collector = TakeCollector(takes, name, seconds, start=start)
                    chunk = collector.write(chunk)
                    if not collector.finished:
                        break  # this take goes on in the next chunk
                    end = collector.end
                    if collector.take is not None:
                        stored.append(collector.take)
                        empties = 0
                        bar.update()
                        bar.set_postfix_str(f"{collector.take.split} {collector.take.path.name}")
                    elif collector.empty and empties < MAX_EMPTY_TAKES:
                        empties += 1
                        say(f"{collector.error}; recording that take again")
                    else:  # a take that cannot be written is not tried again (a full disk stays full)
                        why = collector.error if not collector.empty else \
                            f"{MAX_EMPTY_TAKES + 1} takes in a row had no events; is the source sending anything?"
                        raise SastLiveError(f"{why} — the {len(stored)} take(s) stored before it are kept")
                    collector = None
                    if len(stored) < n:
                        say(f"take {len(stored) + 1}/{n} of {name!r}: get ready ({gap_s:g} s)")
                if len(stored) >= n:
                    break
    except KeyboardInterrupt:
        say("stopped; the takes recorded so far are kept")
    finally:
        bar.close()
    if len(stored) < n:
        say(f"the source ended after {len(stored)} of {n} takes; they are kept")
    return stored
