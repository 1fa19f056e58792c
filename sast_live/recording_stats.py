"""What a recording looks like to the sensor's statistics: how fast, how balanced, how spread, how clustered.

:func:`recording_stats` gives, for one recording (EVENT_DTYPE on a ``(width, height)`` sensor):

* ``events_per_s`` over its span; ``on_off`` — ON events per OFF event (real DVS128 files: 0.81–0.90);
* ``occupancy`` — the share of the sensor's pixels with at least one event;
* ``share_90`` — the smallest share of the sensor's pixels that holds 90 % of the events (a scene of edges
  concentrates its events; noise spreads them);
* ``pixels_ge_1hz`` — the share of the sensor's pixels firing at least once a second on average (in a recording
  shorter than a second every active pixel does: it is then the occupancy);
* ``median_iei_ms`` — the median interval between two events of one pixel;
* ``supported`` — the share of events with a 4-neighbour event within ``support_us`` before it (what the
  background-activity filter keeps: spatially correlated activity; uncorrelated noise has little);
* ``ba_hz`` — the unsupported events per pixel per second: an upper bound of the sensor's background activity
  (a scene's isolated events count too), the first sensor parameter a real file gives directly;
* ``ba_cluster`` — the noise's spatial correlation: the share of unsupported events with another unsupported
  event within 1 ms in their 3×3 neighbourhood (0 for noise spread evenly; real pixels leak into neighbours);
* ``hot_share`` — the share of the sensor's pixels firing above 50× the median active pixel's rate (and at
  ≥ 20 events); ``refractory_us`` — the 0.1 % shortest interval between two events of one pixel;
* ``rate_hist`` / ``iei_hist`` — per-pixel rates (Hz) and per-pixel inter-event intervals (ms), log-spaced bins
  (:data:`RATE_EDGES`, :data:`IEI_EDGES`), as shares.

The realism report (``main.py realism``) puts these side by side for synthetic and real recordings.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from sast_live.errors import SastLiveError

RATE_EDGES = np.logspace(-1, 3, 17)  # 0.1 Hz … 1 kHz per pixel
IEI_EDGES = np.logspace(-2, 3, 21)  # 10 µs … 1 s between two events of a pixel (ms)
PROFILE_VALUES = ("on_off", "ba_hz", "ba_cluster", "hot_share", "refractory_us")  # fit_profile_values
STATS = ("events_per_s", "on_off", "occupancy", "share_90", "pixels_ge_1hz", "median_iei_ms", "supported", "ba_hz",
         "ba_cluster")


def recording_stats(events: np.ndarray, sensor_size, support_us: int = 5_000) -> dict:
    """The statistics of the module docstring for ``events`` on a ``sensor_size`` (width, height) sensor."""
    if len(events) < 2:
        raise SastLiveError(f"a recording with {len(events)} event(s) has no statistics to report")
    w, h = int(sensor_size[0]), int(sensor_size[1])
    span_s = max(int(events["t"][-1]) - int(events["t"][0]), 1) * 1e-6
    n_on = int(np.count_nonzero(events["p"]))
    pix = events["y"].astype(np.int64) * w + events["x"].astype(np.int64)
    counts = np.bincount(pix, minlength=w * h)
    active = np.sort(counts[counts > 0])[::-1]
    k90 = int(np.searchsorted(np.cumsum(active), 0.9 * len(events))) + 1
    order = np.lexsort((events["t"], pix))  # by pixel, then time
    same = pix[order][1:] == pix[order][:-1]
    iei_us = np.diff(events["t"][order].astype(np.int64))[same]
    iei_ms = iei_us * 1e-3
    rates = counts / span_s
    hot = (counts > 50 * float(np.median(counts[counts > 0]))) & (counts >= 20)
    from sast_live.transforms.config import DenoiseConfig
    from sast_live.transforms.filters import denoise_mask

    alone = events[~denoise_mask(events, DenoiseConfig((w, h), support_us))]
    return {"events": int(len(events)), "duration_s": span_s, "events_per_s": len(events) / span_s,
            "on_off": n_on / max(len(events) - n_on, 1), "occupancy": float(np.mean(counts > 0)),
            "share_90": k90 / (w * h), "pixels_ge_1hz": float(np.mean(rates >= 1.0)),
            "median_iei_ms": float(np.median(iei_ms)) if len(iei_ms) else None,
            "supported": 1 - len(alone) / len(events), "ba_hz": len(alone) / (w * h * span_s),
            "ba_cluster": neighbour_share(alone, (w, h)), "hot_share": float(hot.sum() / (w * h)),
            "refractory_us": int(np.quantile(iei_us, 0.001)) if len(iei_us) else None,
            "rate_hist": (np.histogram(rates[counts > 0], RATE_EDGES)[0] / len(active)).tolist(),
            "iei_hist": (np.histogram(iei_ms, IEI_EDGES)[0] / max(len(iei_ms), 1)).tolist()}


@njit(cache=True, nogil=True)
def _neighbours_kernel(t, x, y, w, h, within_us):  # pragma: no cover - compiled
    """How many events have an earlier one within ``within_us`` in their 3×3 neighbourhood (time order)."""
    last = np.full((h + 2, w + 2), -(2 ** 62), np.int64)  # padded: the border needs no special case
    near = 0
    for i in range(t.shape[0]):
        xx, yy = x[i] + 1, y[i] + 1
        hit = False
        for dy in range(-1, 2):
            for dx in range(-1, 2):
                if t[i] - last[yy + dy, xx + dx] <= within_us:
                    hit = True
        if hit:
            near += 1
        last[yy, xx] = t[i]
    return near


def _neighbours_reference(t, x, y, w, h, within_us) -> int:
    """Plain NumPy twin of :func:`_neighbours_kernel`."""
    last = np.full((h + 2, w + 2), -(2 ** 62), np.int64)
    near = 0
    for ti, xi, yi in zip(t.tolist(), (x + 1).tolist(), (y + 1).tolist(), strict=True):
        near += bool((ti - last[yi - 1:yi + 2, xi - 1:xi + 2] <= within_us).any())
        last[yi, xi] = ti
    return near


def neighbour_share(events: np.ndarray, sensor_size, within_us: int = 1000, kernel=_neighbours_kernel) -> float:
    """The share of ``events`` (time order) with an earlier one of them within ``within_us`` in their 3×3
    neighbourhood."""
    if len(events) < 2:
        return 0.0
    near = kernel(events["t"].astype(np.int64), events["x"].astype(np.int64), events["y"].astype(np.int64),
                  int(sensor_size[0]), int(sensor_size[1]), np.int64(within_us))
    return int(near) / len(events)


def fit_profile_values(events: np.ndarray, sensor_size, support_us: int = 5_000) -> dict:
    """The sensor-profile values one recording gives directly (:mod:`sast_live.synthetic.sensor_profiles`):
    ``on_off``, ``ba_hz`` and ``ba_cluster`` as :func:`recording_stats` measures them (the asymmetry only where
    the scene is balanced; the background an upper bound), ``hot_share`` — the share of the sensor's pixels
    firing above 50× the median active pixel's rate (and at ≥ 20 events) — and ``refractory_us``, the 0.1 %
    shortest interval between two events of one pixel (the dead time's floor)."""
    return profile_values(recording_stats(events, sensor_size, support_us))


def profile_values(stats: dict) -> dict:
    """The sensor-profile values among a :func:`recording_stats` result."""
    return {k: stats[k] for k in PROFILE_VALUES}
