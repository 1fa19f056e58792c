"""A DVS pixel model: a sequence of intensity frames → events (the way N-MNIST itself was recorded).

Per pixel, the log intensity ``L = log(I + eps)`` is linearly interpolated between frames. Whenever it moves
a contrast threshold away from the pixel's reference level, an ON (up) or OFF (down) event is emitted at the
interpolated crossing time and the reference moves by one threshold. Thresholds differ per pixel
(``C · (1 + σ·N(0, 1))``, the fixed-pattern mismatch of real sensors). After an event the pixel is blind for
``refractory_us``; a crossing that falls in that time is emitted when it ends (if still inside the frame
interval; else it is caught up in the next one, because the reference did not move). Shot noise adds
Poisson events at ``noise_hz`` per pixel with random polarity.

State (reference levels, last event times) is carried between calls, so a long video can be fed in pieces.
The interval kernel has a plain-Python reference twin (:func:`_interval_reference`) tested for equality.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
from numba import njit

from sast_live.errors import SastLiveError
from sast_live.events import EVENT_DTYPE, concat, empty_events, make_events
from sast_live.transforms.filters import NEVER


@dataclass(frozen=True)
class DVSConfig:
    """Pixel model parameters.

    Attributes:
        threshold: nominal contrast threshold (log-intensity units; real DVS ≈ 0.15–0.3).
        mismatch: relative σ of the per-pixel thresholds.
        refractory_us: dead time after each event (µs).
        noise_hz: shot-noise rate per pixel (Hz).
        eps: offset inside the log, so black pixels do not give -inf.
    """

    threshold: float = 0.2
    mismatch: float = 0.03
    refractory_us: int = 100
    noise_hz: float = 0.1
    eps: float = 0.05


class DVSState(NamedTuple):
    """Carry: reference log level ``(H, W)``, last event time ``(H, W)`` µs, last log frame and its time."""

    ref: np.ndarray
    last_t: np.ndarray
    log_prev: np.ndarray
    t_prev: int
    c_on: np.ndarray
    c_off: np.ndarray
    rng_state: dict  # the shot-noise generator's state, so a continued run equals one whole run


def init_state(first_frame: np.ndarray, t0: int, cfg: DVSConfig, rng: np.random.Generator) -> DVSState:
    """State before any event: references at the first frame's log intensity, per-pixel thresholds drawn."""
    logf = np.log(np.asarray(first_frame, np.float64) + cfg.eps)
    shape = logf.shape
    c_on = np.maximum(cfg.threshold * (1 + cfg.mismatch * rng.standard_normal(shape)), 0.01)
    c_off = np.maximum(cfg.threshold * (1 + cfg.mismatch * rng.standard_normal(shape)), 0.01)
    return DVSState(logf.copy(), np.full(shape, NEVER, np.int64), logf, int(t0), c_on, c_off,
                    rng.bit_generator.state)


@njit(cache=True, nogil=True)
def _interval_kernel(log0, log1, t0, t1, ref, last_t, c_on, c_off, refractory, out_t, out_x, out_y, out_p):
    """Events of one frame interval ``[t0, t1)``; writes into the out arrays, returns the count (-1: full)."""
    h, w = log0.shape
    n = 0
    cap = out_t.shape[0]
    dt = t1 - t0
    for yy in range(h):
        for xx in range(w):
            a = log0[yy, xx]
            b = log1[yy, xx]
            slope = b - a
            while True:
                r = ref[yy, xx]
                if b - r >= c_on[yy, xx]:
                    level = r + c_on[yy, xx]
                    pol = 1
                elif r - b >= c_off[yy, xx]:
                    level = r - c_off[yy, xx]
                    pol = 0
                else:
                    break
                if slope != 0.0:
                    frac = (level - a) / slope
                else:
                    frac = 0.0
                if frac < 0.0:
                    frac = 0.0
                if frac > 1.0:
                    frac = 1.0
                te = t0 + np.int64(frac * dt)
                ready = last_t[yy, xx] + refractory
                if te < ready:
                    te = ready
                if te >= t1:
                    break  # still refractory: the crossing is caught up in the next interval
                if n >= cap:
                    return -1
                out_t[n] = te
                out_x[n] = xx
                out_y[n] = yy
                out_p[n] = pol
                n += 1
                ref[yy, xx] = level
                last_t[yy, xx] = te
    return n


def _interval_reference(log0, log1, t0, t1, ref, last_t, c_on, c_off, refractory, out_t, out_x, out_y, out_p):
    """Plain-Python twin of :func:`_interval_kernel` (same arithmetic, written for reading)."""
    n = 0
    h, w = log0.shape
    for yy in range(h):
        for xx in range(w):
            a, b = float(log0[yy, xx]), float(log1[yy, xx])
            while True:
                r = float(ref[yy, xx])
                if b - r >= c_on[yy, xx]:
                    level, pol = r + c_on[yy, xx], 1
                elif r - b >= c_off[yy, xx]:
                    level, pol = r - c_off[yy, xx], 0
                else:
                    break
                frac = min(max((level - a) / (b - a), 0.0), 1.0) if b != a else 0.0
                te = max(t0 + int(np.int64(frac * (t1 - t0))), int(last_t[yy, xx]) + refractory)
                if te >= t1:
                    break
                if n >= len(out_t):
                    return -1
                out_t[n], out_x[n], out_y[n], out_p[n] = te, xx, yy, pol
                n += 1
                ref[yy, xx], last_t[yy, xx] = level, te
    return n


def simulate(frames: np.ndarray, times_us: np.ndarray, cfg: DVSConfig, seed: int = 0,
             state: DVSState | None = None, kernel=_interval_kernel) -> tuple[np.ndarray, DVSState]:
    """Events from intensity ``frames`` ``(T, H, W)`` (linear, ≥ 0) sampled at integer ``times_us`` ``(T,)``.

    Returns EVENT_DTYPE events sorted by time (ties in pixel order) and the state to continue with.
    """
    frames = np.asarray(frames, np.float64)
    times = np.asarray(times_us, np.int64)
    if frames.ndim != 3 or len(frames) != len(times) or len(times) < 1:
        raise SastLiveError(f"need frames (T, H, W) and T times; got {frames.shape} and {times.shape}")
    if np.any(np.diff(times) <= 0):
        raise SastLiveError("frame times must increase strictly")
    if np.any(frames < 0) or not np.all(np.isfinite(frames)):
        raise SastLiveError("intensities must be finite and ≥ 0")
    if state is None:
        state = init_state(frames[0], int(times[0]), cfg, np.random.default_rng(seed))
        start = 1
    else:
        start = 0
    rng = np.random.Generator(np.random.PCG64())
    rng.bit_generator.state = copy.deepcopy(state.rng_state)
    ref, last_t = state.ref.copy(), state.last_t.copy()
    log_prev, t_prev = state.log_prev, state.t_prev
    h, w = ref.shape
    parts = []
    for k in range(start, len(frames)):
        log_next = np.log(frames[k] + cfg.eps)
        t_next = int(times[k])
        if t_next <= t_prev:
            raise SastLiveError("frame times must continue after the state's last frame")
        # capacity: every threshold crossing of every pixel, plus slack for the reference lag
        cap = int(np.sum(np.abs(log_next - ref) / np.minimum(state.c_on, state.c_off))) + h * w // 8 + 16
        out = [np.empty(cap, np.int64), np.empty(cap, np.int64), np.empty(cap, np.int64), np.empty(cap, np.int64)]
        n = kernel(log_prev, log_next, np.int64(t_prev), np.int64(t_next), ref, last_t, state.c_on,
                   state.c_off, np.int64(cfg.refractory_us), *out)
        if n < 0:  # cannot happen with the bound above; a clear error rather than lost events
            raise SastLiveError("DVS simulator output buffer overflow")
        if n:
            ev = make_events(out[0][:n], out[1][:n], out[2][:n], out[3][:n])
            parts.append(ev[np.argsort(ev["t"], kind="stable")])
        noise = _shot_noise(rng, cfg.noise_hz, t_prev, t_next, w, h)
        if len(noise):
            parts.append(noise)
        log_prev, t_prev = log_next, t_next
    events = concat(parts) if parts else empty_events(0)
    events = events[np.argsort(events["t"], kind="stable")] if len(events) else events
    new_state = DVSState(ref, last_t, log_prev, t_prev, state.c_on, state.c_off, rng.bit_generator.state)
    return events.astype(EVENT_DTYPE, copy=False), new_state


def _shot_noise(rng, rate_hz, t0, t1, w, h) -> np.ndarray:
    n = rng.poisson(rate_hz * w * h * (t1 - t0) * 1e-6) if rate_hz > 0 else 0
    if n == 0:
        return empty_events(0)
    ev = make_events(np.sort(rng.integers(t0, t1, n)), rng.integers(0, w, n), rng.integers(0, h, n),
                     rng.integers(0, 2, n))
    return ev
