"""What the live subcommands do without a window: headless replay / live prediction, and recording a source.

Headless output is one JSON object per prediction window (``--json``) or one readable line. A source that
is not paced (a file replayed as fast as possible) is processed synchronously, so its results are
deterministic; a paced or live source runs on the :class:`~sast_live.pipeline.Runner` threads, dropping
whole bins if the backend falls behind.
"""

from __future__ import annotations

import json
import os
import sys
import threading
import time
from pathlib import Path

import numpy as np

from sast_live.errors import SastLiveError
from sast_live.events import EVENT_DTYPE
from sast_live.pipeline import Pipeline, Runner, WindowResult


def format_window(win: WindowResult, as_json: bool) -> str:
    if as_json:
        return json.dumps(win.as_json())
    part = " (partial)" if win.partial else ""
    return (f"{win.t_start_us / 1e6:9.3f}–{win.t_end_us / 1e6:9.3f} s  {win.class_name:<28} "
            f"{win.confidence:5.1%}  {win.synops:>12,} SynOps  {win.events:>8,} events{part}")


def run_headless(source, backend, *, as_json: bool = True, seconds: float | None = None, out=None,
                 pj_per_synop: float | None = None) -> list[WindowResult]:
    """Run ``source`` through ``backend`` until it ends, ``seconds`` pass, or Ctrl-C; prints each window."""
    out = out or sys.stdout
    kwargs = {} if pj_per_synop is None else {"pj_per_synop": pj_per_synop}
    pipe = Pipeline(backend, source.sensor_size, source.name, realtime=source.realtime, **kwargs)
    results: list[WindowResult] = []

    def emit(win: WindowResult) -> None:
        results.append(win)
        print(format_window(win, as_json), file=out, flush=True)

    deadline = None if seconds is None else time.monotonic() + seconds
    if not source.realtime:
        with source:
            for chunk in source:
                for win in pipe.process(chunk, source.clock_us()):
                    emit(win)
                if deadline is not None and time.monotonic() > deadline:
                    break
        for win in pipe.finish():
            emit(win)
        return results
    runner = Runner(source, pipe, on_window=emit).start()
    try:
        while not runner.wait(0.1):
            if deadline is not None and time.monotonic() > deadline:
                break
    except KeyboardInterrupt:
        pass
    finally:
        runner.stop()
        if not runner.finished.is_set():  # stopped early: report the window under way
            for win in pipe.finish():
                emit(win)
    runner.raise_error()
    stats = source.stats
    if stats.resyncs or stats.losses or stats.errors or pipe.dropped:
        print(f"# source: {stats.events} events, {stats.resyncs} resyncs, {stats.losses} lost, "
              f"{stats.errors} errors ({stats.last_error}); pipeline dropped {pipe.dropped} bins", file=sys.stderr)
    return results


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
    """Save a source to ``path`` (format from ``fmt`` or the extension) until it ends, ``seconds`` pass or
    Ctrl-C; returns (events, bytes). See :class:`Recorder` for why nothing is lost on a crash."""
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
