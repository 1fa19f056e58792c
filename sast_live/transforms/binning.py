"""Events → ``(T, 2, H', W')`` count frames: fixed time windows (streamed, with a carry) or a fixed number of
bins per sample; optional spatial pooling (e.g. 128×128 → 32×32).

Bins have integer-µs edges ``t0 + k·bin_us`` and empty bins are emitted (a silent sensor still advances
time). Where both are defined the frames equal tonic's ``ToFrame(time_window=bin_us, start_time=t0,
end_time=t0 + T·bin_us)`` (tested). tonic's ``n_time_bins`` drops the events of the last partial window;
:func:`bin_sample` covers every event instead (its bin width is ``ceil(duration / n_bins)``).

Channel 0 holds OFF events (p = 0), channel 1 ON events. Counts saturate at the dtype's maximum.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numba import njit

from sast_live.errors import SastLiveError
from sast_live.transforms.config import BinConfig


class BinCarry(NamedTuple):
    """State between chunks: start of the open bin (None before the first event) and its partial counts."""

    t_open: int | None
    partial: np.ndarray  # (2, H', W') counts of the open bin


def initial_carry(cfg: BinConfig, t_start: int | None = None) -> BinCarry:
    """Carry before any event; ``t_start`` fixes the first edge (default: the first event's time)."""
    return BinCarry(t_start, np.zeros(cfg.frame_shape, dtype=cfg.dtype))


@njit(cache=True, nogil=True)
def accumulate(t, x, y, p, t0, bin_us, fx, fy, frames):  # pragma: no cover - compiled
    """Add each event into ``frames[(t - t0) // bin_us, p, y // fy, x // fx]``, saturating at the dtype max.

    Events outside the frames (time or space) are skipped, never written out of bounds; returns their count.
    """
    n_bins, n_pol, h, w = frames.shape
    top = np.iinfo(frames.dtype).max
    skipped = 0
    for i in range(t.shape[0]):
        dt = t[i] - t0
        if dt < 0:
            skipped += 1
            continue
        b = dt // bin_us
        xi = x[i] // fx
        yi = y[i] // fy
        pi = p[i]
        if b >= n_bins or xi < 0 or yi < 0 or xi >= w or yi >= h or pi >= n_pol:
            skipped += 1
            continue
        if frames[b, pi, yi, xi] < top:
            frames[b, pi, yi, xi] += 1
    return skipped


def accumulate_reference(t, x, y, p, t0, bin_us, fx, fy, frames) -> int:
    """NumPy twin of :func:`accumulate` (``np.add.at`` in int64, then saturation)."""
    n_bins, n_pol, h, w = frames.shape
    b = (np.asarray(t, np.int64) - t0) // bin_us
    xi, yi, pi = np.asarray(x) // fx, np.asarray(y) // fy, np.asarray(p).astype(np.int64)
    ok = (np.asarray(t) >= t0) & (b < n_bins) & (xi >= 0) & (yi >= 0) & (xi < w) & (yi < h) & (pi < n_pol)
    acc = frames.astype(np.int64)
    np.add.at(acc, (b[ok], pi[ok], yi[ok], xi[ok]), 1)
    frames[...] = np.minimum(acc, np.iinfo(frames.dtype).max)
    return int(np.count_nonzero(~ok))


def _add_events(events: np.ndarray, cfg: BinConfig, t0: int, frames: np.ndarray, kernel) -> int:
    """Accumulate ``events`` into ``frames`` whose bin 0 starts at ``t0``; returns the skipped count."""
    fx, fy = cfg.factors
    return kernel(events["t"], events["x"], events["y"], events["p"], np.int64(t0), np.int64(cfg.bin_us),
                  np.int64(fx), np.int64(fy), frames)


def bin_events(events: np.ndarray, carry: BinCarry, cfg: BinConfig, t_until: int | None = None,
               kernel=accumulate) -> tuple[np.ndarray, BinCarry]:
    """Stream binning: returns the frames of every bin completed by this chunk, and the new carry.

    A bin ``[a, a + bin_us)`` is complete once an event with ``t ≥ a + bin_us`` arrives, or when ``t_until``
    (a time the caller knows has passed, e.g. the sensor clock) reaches ``a + bin_us``. Feeding a stream in
    any chunking gives the same frames and the same final carry as feeding it whole.

    Returns: frames ``(n_complete, 2, H', W')`` of ``cfg.dtype``, and the carry.
    """
    t_open, partial = carry
    if t_open is None:
        if len(events) == 0:
            return np.zeros((0, *cfg.frame_shape), cfg.dtype), carry
        t_open = int(events["t"][0])
    t_last = int(events["t"][-1]) if len(events) else t_open
    horizon = max(t_last, t_open if t_until is None else int(t_until))
    if len(events) and int(events["t"][0]) < t_open:
        raise SastLiveError(f"event at t={int(events['t'][0])} before the open bin at {t_open}: stream not sorted")
    n_done = (horizon - t_open) // cfg.bin_us
    # the open bin (index n_done) is computed too, then carried
    frames = np.zeros((n_done + 1, *cfg.frame_shape), dtype=cfg.dtype)
    frames[0] = partial
    _add_events(events, cfg, t_open, frames, kernel)
    new_carry = BinCarry(t_open + n_done * cfg.bin_us, frames[n_done].copy())
    return frames[:n_done], new_carry


def flush(carry: BinCarry, cfg: BinConfig) -> np.ndarray:
    """The open bin as a final ``(1, 2, H', W')`` frame (empty result before any event)."""
    if carry.t_open is None:
        return np.zeros((0, *cfg.frame_shape), cfg.dtype)
    return carry.partial[None].copy()


def bin_window(events: np.ndarray, cfg: BinConfig, t_start: int, n_bins: int, kernel=accumulate) -> np.ndarray:
    """``n_bins`` frames from ``t_start`` (events outside are ignored): the whole-sample training input."""
    frames = np.zeros((int(n_bins), *cfg.frame_shape), dtype=cfg.dtype)
    _add_events(events, cfg, t_start, frames, kernel)
    return frames


def bin_sample(events: np.ndarray, n_bins: int, sensor_size, out_size=None, dtype="int16",
               t_start: int | None = None, duration_us: int | None = None) -> np.ndarray:
    """A fixed number of bins per sample covering ``[t_start, t_start + duration)`` (default: all events)."""
    if n_bins <= 0:
        raise SastLiveError(f"n_bins must be positive, got {n_bins}")
    if t_start is None:
        t_start = int(events["t"][0]) if len(events) else 0
    if duration_us is None:
        duration_us = (int(events["t"][-1]) - t_start + 1) if len(events) else 1
    bin_us = max(1, -(-int(duration_us) // int(n_bins)))
    cfg = BinConfig(sensor_size, bin_us, out_size, dtype)
    return bin_window(events, cfg, t_start, n_bins)
