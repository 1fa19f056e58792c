"""Stateful event filters that keep their state across chunks (unlike tonic's, which forget it per call).

* :func:`denoise` — background-activity filter: an event is kept when one of its 4 neighbours fired less
  than ``filter_us`` before it (the rule of tonic's ``denoise``; the pixel's own time is recorded whether
  or not the event is kept). State: last event time per pixel, ``(H, W)`` int64.
* :func:`refractory` — an event is dropped when its pixel emitted a *kept* event less than
  ``refractory_us`` before. State: last kept time per pixel, ``(H, W)`` int64.

Both take the sensor size from their config (never from a chunk) and return ``(kept_events, new_state)``.
Each numba kernel has a plain-Python reference twin used by the parity tests.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from sast_live.errors import SastLiveError
from sast_live.events import SensorSize
from sast_live.transforms.config import DenoiseConfig, RefractoryConfig

NEVER = np.iinfo(np.int64).min // 4  # "no event yet": far in the past, and safe to subtract from


def initial_state(sensor_size: SensorSize) -> np.ndarray:
    """Per-pixel last-event times, all 'never'."""
    return np.full((sensor_size.height, sensor_size.width), NEVER, dtype=np.int64)


@njit(cache=True, nogil=True)
def _denoise_kernel(t, x, y, last, filter_us, keep):  # pragma: no cover - compiled
    h, w = last.shape
    for i in range(t.shape[0]):
        xi, yi, ti = x[i], y[i], t[i]
        if xi < 0 or yi < 0 or xi >= w or yi >= h:
            keep[i] = False
            continue
        last[yi, xi] = ti
        ok = False
        if xi > 0 and ti - last[yi, xi - 1] < filter_us:
            ok = True
        elif xi < w - 1 and ti - last[yi, xi + 1] < filter_us:
            ok = True
        elif yi > 0 and ti - last[yi - 1, xi] < filter_us:
            ok = True
        elif yi < h - 1 and ti - last[yi + 1, xi] < filter_us:
            ok = True
        keep[i] = ok


def _denoise_reference(t, x, y, last, filter_us, keep):
    h, w = last.shape
    for i in range(len(t)):
        xi, yi, ti = int(x[i]), int(y[i]), int(t[i])
        if not (0 <= xi < w and 0 <= yi < h):
            keep[i] = False
            continue
        last[yi, xi] = ti
        neighbours = [(yi, xi - 1), (yi, xi + 1), (yi - 1, xi), (yi + 1, xi)]
        keep[i] = any(0 <= a < h and 0 <= b < w and ti - int(last[a, b]) < filter_us for a, b in neighbours)


@njit(cache=True, nogil=True)
def _refractory_kernel(t, x, y, last, refractory_us, keep):  # pragma: no cover - compiled
    h, w = last.shape
    for i in range(t.shape[0]):
        xi, yi = x[i], y[i]
        if xi < 0 or yi < 0 or xi >= w or yi >= h:
            keep[i] = False
            continue
        if t[i] - last[yi, xi] >= refractory_us:
            keep[i] = True
            last[yi, xi] = t[i]
        else:
            keep[i] = False


def _refractory_reference(t, x, y, last, refractory_us, keep):
    h, w = last.shape
    for i in range(len(t)):
        xi, yi = int(x[i]), int(y[i])
        ok = 0 <= xi < w and 0 <= yi < h and int(t[i]) - int(last[yi, xi]) >= refractory_us
        keep[i] = ok
        if ok:
            last[yi, xi] = t[i]


def _keep(kernel, events, state, size: SensorSize, param: int):
    """``(mask of the kept events, state after them)``."""
    if state is None:
        state = initial_state(size)
    elif state.shape != (size.height, size.width):
        raise SastLiveError(f"filter state of shape {state.shape} does not fit a {size.width}x{size.height} sensor")
    state = state.copy()  # pure function: the caller's carry is not modified
    keep = np.zeros(len(events), dtype=np.bool_)
    kernel(events["t"], events["x"], events["y"], state, np.int64(param), keep)
    return keep, state


def _run(kernel, events, state, size: SensorSize, param: int):
    keep, state = _keep(kernel, events, state, size, param)
    return events[keep], state


def denoise_mask(events: np.ndarray, cfg: DenoiseConfig) -> np.ndarray:
    """(N,) bool: which ``events`` the background-activity filter keeps, from a fresh state."""
    return _keep(_denoise_kernel, events, None, cfg.sensor_size, cfg.filter_us)[0]


def denoise(events: np.ndarray, state: np.ndarray | None, cfg: DenoiseConfig, reference: bool = False):
    """Background-activity filter; returns ``(kept_events, state)``. Pass ``state=None`` to start fresh."""
    kernel = _denoise_reference if reference else _denoise_kernel
    return _run(kernel, events, state, cfg.sensor_size, cfg.filter_us)


def refractory(events: np.ndarray, state: np.ndarray | None, cfg: RefractoryConfig, reference: bool = False):
    """Refractory filter; returns ``(kept_events, state)``. Pass ``state=None`` to start fresh."""
    kernel = _refractory_reference if reference else _refractory_kernel
    return _run(kernel, events, state, cfg.sensor_size, cfg.refractory_us)
