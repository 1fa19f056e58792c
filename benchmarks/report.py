"""Figures of a benchmark run: printed as a table, and with ``--json`` as one JSON line that ``run_all.py``
collects into ``benchmarks/results.json`` and the README's performance table.

A figure is one measured value beside the peer it is compared with in the same run; ``ratio`` is always "times
better than the peer" (the peer's time over ours, or our rate over the peer's), so ``ratio ≥ target`` means the
target is met. A figure without a peer (a frame rate, a latency) carries its target as the peer value.
"""

from __future__ import annotations

import json
import platform
from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class Figure:
    name: str  # what was measured
    value: float  # ours, in ``unit``
    unit: str
    peer: str  # what it is compared with
    peer_value: float  # the peer's value in the same unit
    ratio: float  # times better than the peer (> 1: we are better)
    target: float | None = None  # the ratio the issue asks for
    note: str = ""

    @property
    def met(self) -> bool | None:
        return None if self.target is None else self.ratio >= self.target


def rate(name, ours, peer_name, peer, unit, target=None, note="") -> Figure:
    """A figure where more is better (events/s, samples/s)."""
    return Figure(name, ours, unit, peer_name, peer, ours / peer, target, note)


def cost(name, ours, peer_name, peer, unit, target=None, note="") -> Figure:
    """A figure where less is better (seconds, milliseconds)."""
    return Figure(name, ours, unit, peer_name, peer, peer / ours, target, note)


def print_figures(figures: list[Figure]) -> None:
    print(f"{'figure':<58} {'ours':>12} {'peer':>12} {'ratio':>8} {'target':>7}  peer")
    for f in figures:
        target = "" if f.target is None else f"{f.target:g}" + (" ok" if f.met else " MISS")
        print(f"{f.name:<58} {f.value:>12,.4g} {f.peer_value:>12,.4g} {f.ratio:>7.2f}× {target:>7}  {f.peer} "
              f"({f.unit}){'; ' + f.note if f.note else ''}")


def emit(bench: str, figures: list[Figure], as_json: bool) -> None:
    """Print the table; with ``as_json`` also the line ``run_all.py`` reads (the last line starting with '{')."""
    print_figures(figures)
    if as_json:
        rows = [dict(asdict(f), met=f.met) for f in figures]
        print(json.dumps({"bench": bench, "machine": f"{platform.machine()}, {_cores()} cores", "figures": rows}))


def _cores() -> int:
    import os

    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
