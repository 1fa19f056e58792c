"""The one event dtype, the sensor geometry, and the single validation helper (DESIGN.md §3).

``EVENT_DTYPE`` is byte-for-byte the aligned record expelliarmus returns (t int64 µs at offset 0, x int16 at
8, y int16 at 10, p uint8 at 12, itemsize 16), so arrays read by expelliarmus need no copy. Every other
source converts into it where the data enters (see :func:`from_fields`), and nowhere else.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

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


def check_events(events: np.ndarray, sensor_size: SensorSize | None = None, *, sorted_t: bool = True) -> None:
    """The single validation helper: dtype, polarity, coordinates inside the sensor, t non-decreasing.

    Raises :class:`SastLiveError` naming the first problem found. Checks every field name, unlike
    tonic's ``assert "x" and "t" and "p" in names`` which checks only the last one.
    """
    if not isinstance(events, np.ndarray) or events.dtype != EVENT_DTYPE:
        got = getattr(events, "dtype", type(events))
        raise SastLiveError(f"events must be a NumPy array of EVENT_DTYPE, got {got}")
    if events.ndim != 1:
        raise SastLiveError(f"events must be 1-D, got shape {events.shape}")
    if len(events) == 0:
        return
    if events["p"].max() > 1:
        raise SastLiveError("polarity must be 0 (OFF) or 1 (ON)")
    if events["x"].min() < 0 or events["y"].min() < 0:
        raise SastLiveError("negative pixel coordinate")
    if sensor_size is not None:
        w, h = int(sensor_size[0]), int(sensor_size[1])
        if events["x"].max() >= w or events["y"].max() >= h:
            raise SastLiveError(
                f"event at x={events['x'].max()}, y={events['y'].max()} outside the {w}x{h} sensor"
            )
    if sorted_t and len(events) > 1:
        bad = np.flatnonzero(np.diff(events["t"]) < 0)
        if bad.size:
            i = int(bad[0])
            raise SastLiveError(f"timestamps decrease at index {i + 1}: {events['t'][i]} -> {events['t'][i + 1]}")


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
