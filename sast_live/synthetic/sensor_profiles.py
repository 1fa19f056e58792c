"""What a particular event camera does to a scene's events: per-sensor profiles applied to a recording.

The pixel model (:mod:`sast_live.synthetic.dvs_sim`) is an ideal-ish DVS: symmetric thresholds, a little mismatch,
uniform shot noise. Real pixels add more, and each sensor family its own mix. A :class:`SensorProfile` holds
those effects and :func:`apply_profile` puts them on an EVENT_DTYPE recording (synthetic or real), seeded:

* ``on_off`` — ON/OFF threshold asymmetry, as the ON events per OFF event it leaves of a balanced scene: below 1
  ON events are thinned, above 1 OFF events are;
* ``mismatch`` — per-pixel threshold mismatch, σ of a log-normal per-pixel sensitivity: each pixel keeps its
  events with probability ``min(1, g)`` (a less sensitive pixel fires less often; fixed per recording);
* ``refractory_us`` — a pixel is blind for this long after each event it sends (later events are dropped);
* ``lag_us`` — finite bandwidth: each event is late by an exponential delay of this mean (a photoreceptor in low
  light); ``jitter_us`` — Gaussian timestamp jitter (σ, µs; the arbiter and readout);
* ``ba_hz`` — background activity per pixel per second; ``ba_cluster`` — the share of background events that come
  with one to three neighbours within a millisecond (leaky, coupled pixels: real noise is spatially clustered,
  not spread evenly);
* ``hot_share`` — the share of pixels that are hot, each firing at a rate drawn in ``hot_hz``, one polarity.

Values: what the real recordings in ``../shared/data/real`` give is fitted there (:func:`fit_profile`,
``main.py data realism --fit``): the background rate and its clustering, the hot-pixel share, the refractory
floor (the shortest interval one pixel shows) and, for the recordings whose scenes are balanced, the ON/OFF
ratio. The rest is from the literature and marked so in :data:`SOURCES`: mismatch (Lichtsteiner et al. 2008:
2.1 % contrast σ for DVS128; Brandli et al. 2014 DAVIS240 3.5 %; Finateu et al. 2020 IMX636 < 2 %), bandwidth
lag (≈ 1 ms in office light, several ms dim: Lichtsteiner 2008, Hu et al. 2021 v2e), jitter (≈ 10–100 µs under
load: Gallego et al. 2020 survey).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields, replace

import numpy as np
from numba import njit

from sast_live.errors import SastLiveError
from sast_live.events import concat, make_events


@dataclass(frozen=True)
class SensorProfile:
    """One camera's pixel effects (see the module docstring); every rate per pixel, every time in µs."""

    name: str
    on_off: float = 1.0
    mismatch: float = 0.0
    refractory_us: int = 0
    lag_us: float = 0.0
    jitter_us: float = 0.0
    ba_hz: float = 0.0
    ba_cluster: float = 0.0
    hot_share: float = 0.0
    hot_hz: tuple[float, float] = (100.0, 1000.0)

    def __post_init__(self):
        checks = {"on_off": (0.2, 5.0), "mismatch": (0.0, 1.0), "refractory_us": (0, 100_000), "lag_us": (0, 100_000),
                  "jitter_us": (0, 100_000), "ba_hz": (0.0, 1000.0), "ba_cluster": (0.0, 1.0),
                  "hot_share": (0.0, 0.1)}
        for name, (lo, hi) in checks.items():
            v = getattr(self, name)
            if not (isinstance(v, (int, float)) and math.isfinite(v) and lo <= v <= hi):
                raise SastLiveError(f"sensor profile {self.name!r}: {name} {v!r} must be {lo:g} … {hi:g}")
        lo, hi = self.hot_hz
        if not 0 < lo <= hi <= 100_000:
            raise SastLiveError(f"sensor profile {self.name!r}: hot_hz {self.hot_hz} must be 0 < low ≤ high ≤ 1e5")

    def scaled(self, **factors) -> SensorProfile:
        """A copy with some fields multiplied (domain randomisation around a profile)."""
        return replace(self, **{k: type(getattr(self, k))(getattr(self, k) * f) for k, f in factors.items()})


#: the profiles a user can name (``--grid sensor=…``, ``data synth``): see SOURCES for where each value comes from
PROFILES = {
    "dvs128": SensorProfile("dvs128", on_off=0.86, mismatch=0.021, refractory_us=1000, lag_us=500, jitter_us=50,
                            ba_hz=0.3, ba_cluster=0.08, hot_share=0.0005),
    "davis346": SensorProfile("davis346", on_off=0.9, mismatch=0.035, refractory_us=500, lag_us=800, jitter_us=50,
                              ba_hz=1.0, ba_cluster=0.08, hot_share=0.001),
    "dvxplorer": SensorProfile("dvxplorer", on_off=0.97, mismatch=0.03, refractory_us=200, lag_us=300,
                               jitter_us=100, ba_hz=1.65, ba_cluster=0.10, hot_share=0.00027),
    "atis": SensorProfile("atis", on_off=0.99, mismatch=0.03, refractory_us=100, lag_us=300, jitter_us=20,
                          ba_hz=1.6, ba_cluster=0.07, hot_share=0.0),
    "prophesee-gen3": SensorProfile("prophesee-gen3", on_off=1.0, mismatch=0.025, refractory_us=10, lag_us=300,
                                    jitter_us=20, ba_hz=0.33, ba_cluster=0.34, hot_share=0.00001),
    "prophesee-gen4": SensorProfile("prophesee-gen4", on_off=1.1, mismatch=0.02, refractory_us=300, lag_us=200,
                                    jitter_us=20, ba_hz=0.055, ba_cluster=0.04, hot_share=0.0),
}

#: where each profile value comes from ("fitted" = ``fit_profile_values`` on the named real files)
SOURCES = {
    "dvs128": "on_off fitted on the DVS128 footage of issue 29's review (0.81–0.90); the rest literature "
              "(Lichtsteiner 2008: 2.1 % mismatch, ~1 ms refractory, 0.1–1 Hz background), ba_cluster as the "
              "real files' median",
    "davis346": "literature (Brandli 2014: 3.5 % mismatch; iniVation data sheet: < 1 Hz background), hot share "
                "and ba_cluster as the real files",
    "dvxplorer": "fitted on tonic/sample.aedat4: on_off 0.97, ba_hz 1.65, ba_cluster 0.10, hot_share 0.027 %, "
                 "refractory floor 198 µs; mismatch, lag, jitter literature",
    "atis": "fitted on the N-MNIST digits (ba_hz 1.2–2.0, ba_cluster 0.06–0.11, on_off 0.98–1.03) and N-CARS "
            "(ba_hz 4.1–4.9: those scenes' isolated events); refractory, lag, jitter literature (Posch 2011)",
    "prophesee-gen3": "fitted on sparklers.raw and evt2_sample.raw: ba_hz 0.33–0.62 (the lower: scene events "
                      "inflate it), ba_cluster 0.34, refractory floor 9–12 µs; on_off set to balance (the scenes "
                      "give 0.55 and 2.1); mismatch, lag literature",
    "prophesee-gen4": "fitted on evt3_test_pedestrians.raw (ba_hz 0.055, ba_cluster 0.04) and evt3_sample.raw "
                      "(on_off 1.11, refractory floor 305 µs); mismatch (Finateu 2020: < 2 %), lag literature",
}


def profile(name: str) -> SensorProfile:
    """The named profile, or one clear error listing the names."""
    try:
        return PROFILES[name]
    except (KeyError, TypeError):
        raise SastLiveError(f"unknown sensor profile {name!r}; choose {', '.join(PROFILES)}") from None


@njit(cache=True, nogil=True)
def refractory_keep(t, pix, n_pix, dead_us):  # pragma: no cover - compiled
    """Mask (N,) of the events a pixel sends when it is blind ``dead_us`` after each event it sent (time order)."""
    last = np.full(n_pix, -(2 ** 62), np.int64)
    keep = np.zeros(t.shape[0], np.bool_)
    for i in range(t.shape[0]):
        p = pix[i]
        if t[i] - last[p] >= dead_us:
            keep[i] = True
            last[p] = t[i]
    return keep


def refractory_keep_reference(t, pix, n_pix, dead_us):
    """Plain-Python twin of :func:`refractory_keep`."""
    last = {}
    keep = np.zeros(len(t), bool)
    for i, (ti, p) in enumerate(zip(t.tolist(), pix.tolist(), strict=True)):
        if ti - last.get(p, -(2 ** 62)) >= dead_us:
            keep[i] = True
            last[p] = ti
    return keep


def background(prof: SensorProfile, sensor_size, t0: int, t1: int, rng: np.random.Generator) -> np.ndarray:
    """Background activity and hot pixels of ``prof`` over ``[t0, t1)`` µs (EVENT_DTYPE, time order)."""
    w, h = int(sensor_size[0]), int(sensor_size[1])
    span = max(t1 - t0, 1)
    parts = []
    n = rng.poisson(prof.ba_hz * w * h * span * 1e-6)
    if n:
        t = rng.integers(t0, t1, n)
        x, y, p = rng.integers(0, w, n), rng.integers(0, h, n), rng.integers(0, 2, n)
        parts.append(make_events(t, x, y, p))
        lead = np.flatnonzero(rng.random(n) < prof.ba_cluster)  # these noise events bring neighbours
        if len(lead):
            k = rng.integers(1, 4, len(lead))
            src = np.repeat(lead, k)
            nx = np.clip(x[src] + rng.integers(-1, 2, len(src)), 0, w - 1)
            ny = np.clip(y[src] + rng.integers(-1, 2, len(src)), 0, h - 1)
            nt = np.clip(t[src] + rng.integers(0, 1000, len(src)), t0, t1 - 1)
            parts.append(make_events(nt, nx, ny, p[src]))
    n_hot = rng.binomial(w * h, prof.hot_share) if prof.hot_share else 0
    for _ in range(n_hot):
        rate = rng.uniform(*prof.hot_hz)
        m = rng.poisson(rate * span * 1e-6)
        parts.append(make_events(rng.integers(t0, t1, m), np.full(m, rng.integers(0, w)),
                                 np.full(m, rng.integers(0, h)), np.full(m, rng.integers(0, 2))))
    if not parts:
        return make_events([], [], [], [])
    out = concat(parts)
    return out[np.argsort(out["t"], kind="stable")]


def apply_profile(events: np.ndarray, prof: SensorProfile, sensor_size, seed: int = 0) -> np.ndarray:
    """``events`` (EVENT_DTYPE, time order) as the sensor of ``prof`` would send them; a new array, time order.

    Order of the effects: the scene's events are thinned (ON/OFF asymmetry, per-pixel mismatch), delayed (lag,
    jitter), the background and hot pixels are added, and last the refractory period drops what a blind pixel
    would not have sent (noise included, as in a real pixel)."""
    rng = np.random.default_rng(seed)
    w, h = int(sensor_size[0]), int(sensor_size[1])
    if not len(events):
        return events.copy()
    t0, t1 = int(events["t"][0]), int(events["t"][-1]) + 1
    keep = np.ones(len(events), bool)
    on = events["p"].astype(bool)
    if prof.on_off < 1.0:
        keep &= ~on | (rng.random(len(events)) < prof.on_off)
    elif prof.on_off > 1.0:
        keep &= on | (rng.random(len(events)) < 1.0 / prof.on_off)
    pix = events["y"].astype(np.int64) * w + events["x"].astype(np.int64)
    if prof.mismatch:
        gain = np.exp(prof.mismatch * rng.standard_normal(w * h) - prof.mismatch ** 2 / 2)
        keep &= rng.random(len(events)) < np.minimum(gain, 1.0)[pix]
    ev = events[keep]
    t = ev["t"].astype(np.int64)
    if prof.lag_us:
        t = t + rng.exponential(prof.lag_us, len(t)).astype(np.int64)
    if prof.jitter_us:
        t = t + np.rint(rng.normal(0.0, prof.jitter_us, len(t))).astype(np.int64)
    t = np.maximum(t, t0)
    ev = make_events(t, ev["x"], ev["y"], ev["p"])
    ev = concat([ev, background(prof, (w, h), t0, t1, rng)])
    ev = ev[np.argsort(ev["t"], kind="stable")]
    if prof.refractory_us:
        pix = ev["y"].astype(np.int64) * w + ev["x"].astype(np.int64)
        ev = ev[refractory_keep(ev["t"].astype(np.int64), pix, w * h, np.int64(prof.refractory_us))]
    return ev


def randomised(rng: np.random.Generator) -> SensorProfile:
    """A profile for one training recording: one of :data:`PROFILES`, each effect scaled by a random factor
    (0.5–2×, the hot-pixel share 0–3×), so the network meets every camera and the ones in between."""
    base = PROFILES[str(rng.choice(list(PROFILES)))]
    f = lambda lo=0.5, hi=2.0: float(np.exp(rng.uniform(np.log(lo), np.log(hi))))  # noqa: E731
    on_off = float(np.clip(base.on_off * f(0.85, 1.18), 0.6, 1.6))
    return replace(base.scaled(mismatch=f(), refractory_us=f(), lag_us=f(), jitter_us=f(), ba_hz=f(0.3, 3.0),
                               ba_cluster=f(0.5, 1.5) if base.ba_cluster * 1.5 <= 1 else 1.0,
                               hot_share=float(rng.uniform(0, 3))), on_off=on_off, name=f"{base.name}~")


def profile_fields() -> tuple[str, ...]:
    return tuple(f.name for f in fields(SensorProfile) if f.name != "name")
