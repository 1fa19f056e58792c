"""One benchmark point in a process of its own (shared by the scripts; they run as scripts, so this folder is on
sys.path): the peak memory it reports is its own, and a point whose process dies — killed for memory, say — becomes
an error row instead of a wait for a process that is gone."""

from __future__ import annotations

import multiprocessing as mp
import queue as queues


def _run(measure, args: tuple, fields: dict, out) -> None:
    try:
        out.put(measure(*args))
    except Exception as e:  # noqa: BLE001 - reported beside the other points, not raised in the parent
        out.put({**fields, "error": f"{type(e).__name__}: {e}"})


def measure_apart(measure, args: tuple, fields: dict) -> dict:
    """``measure(*args)``'s row, run in a fresh (spawned) process; on failure ``fields`` (what names the point)
    with an ``error``. ``measure`` must be a module-level function."""
    ctx = mp.get_context("spawn")
    out = ctx.Queue()
    proc = ctx.Process(target=_run, args=(measure, args, fields, out))
    proc.start()
    try:
        while True:
            try:
                return out.get(timeout=5)
            except queues.Empty:
                if not proc.is_alive():
                    try:
                        return out.get(timeout=1)
                    except queues.Empty:
                        return {**fields, "error": f"its process ended with code {proc.exitcode} and no figures "
                                                   "(killed?)"}
    finally:
        proc.join()
