"""Corruptions for robustness studies: each takes a severity 1–5 and a seed and returns a new event array.

The severity tables below are the single place where the strength of each corruption is defined; the
evaluation reports name the corruption and severity, so results stay comparable across runs.

=================  ===========================================================  ===========================
corruption         what it does                                                 severity 1 … 5
=================  ===========================================================  ===========================
background_noise   adds uniform random events (random pixel, random polarity)   rate per pixel (Hz) below
event_drop         removes a random fraction of events                          fraction below
time_jitter        adds Gaussian noise to timestamps, then re-sorts             σ in µs below
hot_pixels         a few pixels fire at a high steady rate                      fraction of pixels below
polarity_flip      flips the polarity of a random fraction of events            fraction below
spatial_shift      moves the scene along one of 8 directions, drops what falls  shift in pixels below
=================  ===========================================================  ===========================
"""

from __future__ import annotations

import numpy as np

from sast_live.errors import SastLiveError
from sast_live.events import SensorSize, as_sensor_size, empty_events, make_events

SEVERITY = {
    "background_noise": (2.0, 5.0, 10.0, 20.0, 50.0),  # Hz per pixel
    "event_drop": (0.1, 0.2, 0.35, 0.5, 0.7),  # fraction removed
    "time_jitter": (100, 300, 1_000, 3_000, 10_000),  # σ in µs
    "hot_pixels": (0.001, 0.002, 0.005, 0.01, 0.02),  # fraction of pixels (at least one)
    "polarity_flip": (0.05, 0.1, 0.2, 0.3, 0.5),  # fraction flipped
    "spatial_shift": (1, 2, 3, 5, 8),  # pixels along x, y or a diagonal
}
HOT_PIXEL_RATE_HZ = 1_000.0
CORRUPTIONS = tuple(SEVERITY)


def _sort_by_t(events: np.ndarray) -> np.ndarray:
    return events[np.argsort(events["t"], kind="stable")]


def _merge(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return _sort_by_t(np.concatenate([a, b]))


def _span(events):
    if len(events) == 0:
        return 0, 0
    return int(events["t"][0]), int(events["t"][-1]) + 1


def _random_events(rng, n, t0, t1, size: SensorSize, xs=None, ys=None):
    t = rng.integers(t0, max(t1, t0 + 1), n)
    if xs is None:
        xs, ys = rng.integers(0, size.width, n), rng.integers(0, size.height, n)
    return make_events(t, xs, ys, rng.integers(0, 2, n))


def corrupt(events: np.ndarray, kind: str, severity: int, sensor_size, seed: int = 0) -> np.ndarray:
    """Apply corruption ``kind`` at ``severity`` (1–5) with a seeded generator; returns a sorted copy."""
    if kind not in SEVERITY:
        raise SastLiveError(f"unknown corruption {kind!r}; choose from {', '.join(CORRUPTIONS)}")
    if not 1 <= int(severity) <= 5:
        raise SastLiveError(f"severity must be 1..5, got {severity}")
    size = as_sensor_size(sensor_size)
    level = SEVERITY[kind][int(severity) - 1]
    rng = np.random.default_rng(seed)
    t0, t1 = _span(events)
    if kind == "background_noise":
        n = rng.poisson(level * size.width * size.height * (t1 - t0) * 1e-6)
        return _merge(events, _random_events(rng, n, t0, t1, size))
    if kind == "event_drop":
        return events[rng.random(len(events)) >= level].copy()
    if kind == "time_jitter":
        out = events.copy()
        out["t"] = np.maximum(out["t"] + np.rint(rng.normal(0, level, len(out))).astype(np.int64), t0)
        return _sort_by_t(out)
    if kind == "hot_pixels":
        n_hot = max(1, int(round(level * size.width * size.height)))
        px = rng.choice(size.width * size.height, n_hot, replace=False)
        per_pixel = rng.poisson(HOT_PIXEL_RATE_HZ * (t1 - t0) * 1e-6, n_hot)
        xs = np.repeat(px % size.width, per_pixel)
        ys = np.repeat(px // size.width, per_pixel)
        hot = _random_events(rng, len(xs), t0, t1, size, xs, ys) if len(xs) else empty_events(0)
        return _merge(events, hot)
    if kind == "polarity_flip":
        out = events.copy()
        flip = rng.random(len(out)) < level
        out["p"][flip] = 1 - out["p"][flip]
        return out
    # spatial_shift
    # exactly `level` pixels along one of the 8 compass directions, so no severity can draw a null shift
    directions = [(cx, cy) for cx in (-1, 0, 1) for cy in (-1, 0, 1) if (cx, cy) != (0, 0)]
    cx, cy = directions[rng.integers(0, len(directions))]
    dx, dy = level * cx, level * cy
    out = events.copy()
    out["x"] = out["x"] + dx
    out["y"] = out["y"] + dy
    inside = (out["x"] >= 0) & (out["x"] < size.width) & (out["y"] >= 0) & (out["y"] < size.height)
    return out[inside]
