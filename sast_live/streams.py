"""Utilities over event streams: iterators of EVENT_DTYPE chunks, t non-decreasing (DESIGN.md §3).

Time windows have integer-µs edges ``t_start + k·window_us`` and empty windows are yielded too, because a
silent sensor still advances time.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

import numpy as np

from sast_live.errors import SastLiveError
from sast_live.events import concat


def iter_time_windows(
    chunks: Iterable[np.ndarray],
    window_us: int,
    t_start: int | None = None,
    t_end: int | None = None,
) -> Iterator[tuple[int, int, np.ndarray]]:
    """Cut a stream into consecutive windows ``[t0 + k·w, t0 + (k+1)·w)``; yields ``(t0, t1, events)``.

    ``t_start`` defaults to the first event's time. Memory stays bounded by one window plus one chunk.
    Windows are yielded up to the one holding the last event, or up to ``t_end`` (exclusive) when given;
    empty windows in between are yielded as empty arrays.
    """
    window_us = int(window_us)
    if window_us <= 0:
        raise SastLiveError(f"window length must be a positive number of µs, got {window_us}")
    t0 = None if t_start is None else int(t_start)
    pending: list[np.ndarray] = []
    for chunk in chunks:
        if len(chunk) == 0:
            continue
        if t0 is None:
            t0 = int(chunk["t"][0])
        pending.append(chunk)
        last_t = int(chunk["t"][-1])
        # every window that ends at or before last_t is complete: no later event can fall into it
        while t0 + window_us <= last_t and (t_end is None or t0 + window_us <= t_end):
            joined = concat(pending)
            cut = int(np.searchsorted(joined["t"], t0 + window_us, side="left"))
            first = int(np.searchsorted(joined["t"], t0, side="left"))
            yield t0, t0 + window_us, joined[first:cut]
            pending = [joined[cut:]]
            t0 += window_us
        if t_end is not None and t0 >= t_end:
            return
    if t0 is None:
        return
    joined = concat(pending)
    stop = t_end if t_end is not None else (int(joined["t"][-1]) + 1 if len(joined) else t0)
    while t0 < stop:
        first = int(np.searchsorted(joined["t"], t0, side="left"))
        cut = int(np.searchsorted(joined["t"], t0 + window_us, side="left"))
        yield t0, t0 + window_us, joined[first:cut]
        t0 += window_us
