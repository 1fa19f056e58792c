"""Headless ``replay``/``live`` (and the GUI's no-display fallback): a :class:`~sast_live.session.Session` whose
windows are printed, one JSON object per prediction window (``--json``) or one readable line.

Every chunk of a source that is not paced (a file replayed as fast as possible) is processed in order, so its
results are deterministic; a paced or live source drops whole bins when the backend falls behind (counted).
"""

from __future__ import annotations

import json
import os
import sys
import threading
import time

from sast_live.pipeline import WindowResult
from sast_live.session import Session


def format_window(win: WindowResult, as_json: bool) -> str:
    if as_json:
        return json.dumps(win.as_json())
    part = " (partial)" if win.partial else ""
    return (f"{win.t_start_us / 1e6:9.3f}–{win.t_end_us / 1e6:9.3f} s  {win.class_name:<28} "
            f"{win.confidence:5.1%}  {win.synops:>12,} SynOps  {win.events:>8,} events{part}")


def run_headless(session: Session, spec: str | os.PathLike, *, as_json: bool = True, seconds: float | None = None,
                 out=None) -> list[WindowResult]:
    """Run ``spec`` through ``session`` until the source ends, ``seconds`` of wall time pass, or Ctrl-C; prints
    each window to ``out`` (stdout) as it completes and returns them all. The window under way when it stops
    early is reported too (marked partial)."""
    out = out or sys.stdout
    results: list[WindowResult] = []
    reader_left = threading.Event()

    def emit(win: WindowResult) -> None:  # on the worker thread
        results.append(win)
        if reader_left.is_set():
            return
        try:
            print(format_window(win, as_json), file=out, flush=True)
        except BrokenPipeError:  # e.g. `… --json | head`: stop quietly (the main thread ends the session)
            reader_left.set()

    session.on_window = emit
    session.open(spec)
    runner, source, pipeline = session.runner, session.source, session.pipeline
    deadline = None if seconds is None else time.monotonic() + seconds
    try:
        while not runner.wait(0.1) and not reader_left.is_set():
            if deadline is not None and time.monotonic() > deadline:
                break
    except KeyboardInterrupt:
        pass
    finally:
        session.stop(flush=True)
    if reader_left.is_set():
        raise BrokenPipeError("the reader of the output left")
    runner.raise_error()
    stats = source.stats
    if stats.resyncs or stats.losses or stats.errors or pipeline.dropped:
        print(f"# source: {stats.events} events, {stats.resyncs} resyncs, {stats.losses} lost, "
              f"{stats.errors} errors ({stats.last_error}); pipeline dropped {pipeline.dropped} bins", file=sys.stderr)
    return results
