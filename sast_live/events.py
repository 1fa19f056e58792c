"""The one event dtype, the sensor geometry, the single validation helper, and the stream conventions
(DESIGN.md §3).

``EVENT_DTYPE`` is byte-for-byte the aligned record expelliarmus returns (t int64 µs at offset 0, x int16 at
8, y int16 at 10, p uint8 at 12, itemsize 16), so arrays read by expelliarmus need no copy. Every other
source converts into it where the data enters (see :func:`from_fields`), and nowhere else.

A stream is an iterator of EVENT_DTYPE chunks, t non-decreasing. Time windows (:func:`iter_time_windows`) have
integer-µs edges ``t_start + k·window_us`` and empty windows are yielded too, because a silent sensor still
advances time.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import NamedTuple

import numpy as np
from numba import njit

from sast_live.errors import SastLiveError

EVENT_DTYPE = np.dtype([("t", "<i8"), ("x", "<i2"), ("y", "<i2"), ("p", "u1")], align=True)
EVENT_FIELDS = ("t", "x", "y", "p")
RECORD_BYTES = np.dtype(("V", EVENT_DTYPE.itemsize))  # one event as opaque bytes, for fast copies


class SensorSize(NamedTuple):
    """Sensor geometry in pixels. ``x`` runs over ``width``, ``y`` over ``height``."""

    width: int
    height: int

    @property
    def shape(self) -> tuple[int, int]:
        """Row-major image shape ``(height, width)``."""
        return (self.height, self.width)


def is_sensor_size(size) -> bool:
    """Whether ``size`` is a JSON ``[width, height]`` of whole pixels, 1 … 65,536 each (as a dataset's or a takes
    folder's ``meta.json`` stores a :class:`SensorSize`)."""
    return isinstance(size, list) and len(size) == 2 and all(
        isinstance(v, int) and not isinstance(v, bool) and 0 < v <= 65536 for v in size)


def empty_events(n: int = 0) -> np.ndarray:
    """A zero-filled event array of length ``n`` with :data:`EVENT_DTYPE`."""
    return np.zeros(n, dtype=EVENT_DTYPE)


def make_events(t, x, y, p) -> np.ndarray:
    """Build an EVENT_DTYPE array from four equal-length sequences (t in µs, p in {0, 1}).

    Values are range-checked before the cast so that, e.g., x = 40000 is an error and not a silent wrap.
    """
    cols = [np.asarray(v) for v in (t, x, y, p)]
    n = len(cols[0])
    if any(len(c) != n for c in cols):
        raise SastLiveError(f"make_events: t, x, y, p have different lengths {[len(c) for c in cols]}")
    for name, col in zip(EVENT_FIELDS, cols, strict=True):
        if n and col.dtype.kind == "f" and not np.all(np.isfinite(col)):
            raise SastLiveError(f"make_events: field {name!r} has non-finite values")
        info = np.iinfo(EVENT_DTYPE[name])
        if n and (col.min() < info.min or col.max() > info.max):
            raise SastLiveError(f"make_events: field {name!r} out of range for {EVENT_DTYPE[name]}")
    out = empty_events(n)
    for name, col in zip(EVENT_FIELDS, cols, strict=True):
        out[name] = col
    if n and out["p"].max() > 1:
        raise SastLiveError("make_events: polarity must be 0 (OFF) or 1 (ON)")
    return out


def from_fields(arr: np.ndarray, *, t_scale: int = 1) -> np.ndarray:
    """Convert any structured array with fields t, x, y, p (e.g. tonic's, bool p) into EVENT_DTYPE.

    ``t_scale`` multiplies timestamps into µs (1000 for tonic's DVS Gesture .npy files in ms).
    """
    names = arr.dtype.names or ()
    missing = [f for f in EVENT_FIELDS if f not in names]
    if missing:
        raise SastLiveError(f"structured array lacks the fields {missing}; it has {list(names)}")
    if arr.dtype == EVENT_DTYPE and t_scale == 1:
        return arr
    t = arr["t"].astype(np.int64) * t_scale
    p = arr["p"].astype(np.int64)
    # Some datasets store OFF as -1; DESIGN.md §3 fixes 0 = OFF, 1 = ON.
    p = np.where(p > 0, 1, 0)
    return make_events(t, arr["x"], arr["y"], p)


# codes returned by first_problem
OK, T_DECREASES, BAD_POLARITY, NEGATIVE_COORD, OUTSIDE_SENSOR = 0, 1, 2, 3, 4


@njit(cache=True, nogil=True)
def first_problem(t, x, y, p, last_t, width, height, check_order):  # pragma: no cover - compiled
    """One pass over an event array: ``(code, index)`` of the first invalid event, ``(OK, -1)`` if none.

    ``last_t`` is the time the array must not start before (the previous chunk's last time, or a very small
    number); ``width``/``height`` ≤ 0 skip the sensor bound; ``check_order`` False skips the time order.
    """
    prev = last_t
    for i in range(t.shape[0]):
        if check_order:
            if t[i] < prev:
                return 1, i
            prev = t[i]
        if p[i] > 1:
            return 2, i
        if x[i] < 0 or y[i] < 0:
            return 3, i
        if width > 0 and (x[i] >= width or y[i] >= height):
            return 4, i
    return 0, -1


def describe_problem(events: np.ndarray, code: int, i: int, width: int, height: int) -> str:
    """Words for a ``first_problem`` result."""
    if code == T_DECREASES:
        before = f"{events['t'][i - 1]} -> " if i > 0 else ""
        return f"timestamps decrease at index {i}: {before}{events['t'][i]}"
    if code == BAD_POLARITY:
        return f"polarity must be 0 (OFF) or 1 (ON), got {events['p'][i]} at index {i}"
    if code == NEGATIVE_COORD:
        return f"negative pixel coordinate at index {i}"
    return f"event at x={events['x'][i]}, y={events['y'][i]} outside the {width}x{height} sensor (index {i})"


TONIC_DTYPE = np.dtype([("x", "<i8"), ("y", "<i8"), ("t", "<i8"), ("p", "<i8")])  # what tonic's readers fill


def to_tonic(events: np.ndarray) -> np.ndarray:
    """The inverse of :func:`from_fields` for tonic: the same events as tonic's int64 x, y, t, p records
    (for handing our events to tonic's transforms, e.g. to compare with them)."""
    out = np.zeros(len(events), dtype=TONIC_DTYPE)
    for k in EVENT_FIELDS:
        out[k] = events[k]
    return out


def check_events(events: np.ndarray, sensor_size: SensorSize | None = None, *, sorted_t: bool = True,
                 last_t: int | None = None) -> None:
    """The single validation helper: dtype, polarity, coordinates inside the sensor, t non-decreasing
    (and not before ``last_t``, for a chunk that continues a stream).

    Raises :class:`SastLiveError` naming the first problem found. Checks every field name, unlike
    tonic's ``assert "x" and "t" and "p" in names`` which checks only the last one.
    """
    if not isinstance(events, np.ndarray) or events.dtype != EVENT_DTYPE:
        got = getattr(events, "dtype", type(events))
        raise SastLiveError(f"events must be a NumPy array of EVENT_DTYPE, got {got}")
    if events.ndim != 1:
        raise SastLiveError(f"events must be 1-D, got shape {events.shape}")
    w, h = (int(sensor_size[0]), int(sensor_size[1])) if sensor_size is not None else (0, 0)
    start = np.iinfo(np.int64).min if last_t is None else int(last_t)
    code, i = first_problem(events["t"], events["x"], events["y"], events["p"], start, w, h, sorted_t)
    if code:
        raise SastLiveError(describe_problem(events, code, i, w, h))


def concat(chunks) -> np.ndarray:
    """Concatenate an iterable of event chunks into one EVENT_DTYPE array (empty input -> empty array).

    Copies the 16-byte records as raw bytes: NumPy copies aligned structured arrays field by field, which
    is several times slower.
    """
    chunks = [np.ascontiguousarray(c, dtype=EVENT_DTYPE) for c in chunks if len(c)]
    if not chunks:
        return empty_events(0)
    if len(chunks) == 1:
        return chunks[0]
    raw = np.concatenate([c.view(RECORD_BYTES) for c in chunks])
    return raw.view(EVENT_DTYPE)


def tile(clip: np.ndarray, duration_us: int, start_us: int = 0) -> np.ndarray:
    """``clip`` (time order, t from 0) repeated back to back, read from ``start_us`` into it, for ``duration_us``:
    events with 0 ≤ t < ``duration_us``, in time order (a short recording looped to fill a longer stream)."""
    span = int(clip["t"][-1]) + 1
    parts = []
    for k in range(-(-(int(duration_us) + int(start_us)) // span)):
        part = clip.copy()
        part["t"] = part["t"].astype(np.int64) + k * span - int(start_us)
        parts.append(part[(part["t"] >= 0) & (part["t"] < duration_us)])
    return concat(parts)


def sensor_or_extent(size, events: np.ndarray) -> SensorSize:
    """The sensor a recording says it came from, else (a file that does not say) the extent of its events."""
    size = as_sensor_size(size)
    if size is not None:
        return size
    return SensorSize(int(events["x"].max()) + 1, int(events["y"].max()) + 1)


def as_sensor_size(size) -> SensorSize | None:
    """Accept ``SensorSize``, ``(width, height)`` or tonic's ``(width, height, polarities)``; None stays None."""
    if size is None:
        return None
    try:
        w, h = int(size[0]), int(size[1])
    except (TypeError, ValueError, IndexError) as exc:
        raise SastLiveError(f"sensor size must be (width, height), got {size!r}") from exc
    if w <= 0 or h <= 0 or w > 32767 or h > 32767:
        raise SastLiveError(f"sensor size must be positive and below 32768, got {w}x{h}")
    return SensorSize(w, h)


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
