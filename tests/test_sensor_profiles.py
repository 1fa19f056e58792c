"""Sensor profiles (sast_live.synthetic.sensor_profiles): each pixel effect does what it says, the refractory
kernel equals its plain-Python twin, the fit recovers what a profile put in, and a wrong name is one clear line."""

from __future__ import annotations

import numpy as np
import pytest

from sast_live.errors import SastLiveError
from sast_live.events import make_events
from sast_live.recording_stats import fit_profile_values
from sast_live.synthetic.sensor_profiles import (
    PROFILES,
    SOURCES,
    SensorProfile,
    apply_profile,
    background,
    profile,
    randomised,
    refractory_keep,
    refractory_keep_reference,
)

SENSOR = (128, 128)


def scene(n=60_000, seed=0):
    """A balanced scene: a bar sweeping across the sensor over 1 s, ON and OFF alike."""
    rng = np.random.default_rng(seed)
    t = np.sort(rng.integers(0, 1_000_000, n))
    x = (t * 128 // 1_000_000 + rng.integers(-2, 3, n)).clip(0, 127)
    return make_events(t, x, rng.integers(0, 128, n), rng.integers(0, 2, n))


def test_the_refractory_kernel_equals_its_twin():
    rng = np.random.default_rng(1)
    t = np.sort(rng.integers(0, 20_000, 5000)).astype(np.int64)
    pix = rng.integers(0, 64, 5000).astype(np.int64)
    for dead in (0, 100, 1000):
        assert np.array_equal(refractory_keep(t, pix, 64, np.int64(dead)), refractory_keep_reference(t, pix, 64, dead))


def test_each_effect_does_what_it_says():
    ev = scene()
    only = lambda **kw: apply_profile(ev, SensorProfile("x", **kw), SENSOR, seed=2)  # noqa: E731
    fewer_on = only(on_off=0.8)
    ratio = fewer_on["p"].sum() / (len(fewer_on) - fewer_on["p"].sum())
    assert abs(ratio - 0.8 * ev["p"].sum() / (len(ev) - ev["p"].sum())) < 0.03
    dead = only(refractory_us=2000)
    pix = dead["y"].astype(np.int64) * 128 + dead["x"]
    order = np.lexsort((dead["t"], pix))
    same = pix[order][1:] == pix[order][:-1]
    assert np.diff(dead["t"][order].astype(np.int64))[same].min() >= 2000 and len(dead) < len(ev)
    noisy = only(ba_hz=2.0)
    assert abs((len(noisy) - len(ev)) / (128 * 128 * 1.0) - 2.0) < 0.15  # 2 Hz per pixel over ~1 s
    hot = only(hot_share=0.002, hot_hz=(500.0, 500.0))
    counts = np.bincount(hot["y"].astype(np.int64) * 128 + hot["x"], minlength=128 * 128)
    assert 15 <= (counts > 300).sum() <= 50  # ~33 pixels at 500 Hz
    late = only(lag_us=1000.0)
    assert len(late) == len(ev) and 900 < late["t"].mean() - ev["t"].mean() < 1100
    assert np.all(np.diff(late["t"]) >= 0) and np.all(np.diff(only(jitter_us=200.0)["t"]) >= 0)
    fewer = only(mismatch=0.3)
    assert 0.8 * len(ev) < len(fewer) < 0.95 * len(ev)


def test_every_profile_runs_is_seeded_and_says_where_its_values_come_from():
    ev = scene(20_000)
    for name, prof in PROFILES.items():
        a, b = apply_profile(ev, prof, SENSOR, seed=5), apply_profile(ev, prof, SENSOR, seed=5)
        assert np.array_equal(a, b) and len(a) and np.all(np.diff(a["t"]) >= 0), name
        assert name in SOURCES and prof.name == name
    rng = np.random.default_rng(0)
    drawn = {randomised(rng).name for _ in range(60)}
    assert drawn == {f"{n}~" for n in PROFILES}


def test_the_fit_recovers_the_background_a_profile_puts_in():
    rng = np.random.default_rng(3)
    plain = background(SensorProfile("x", ba_hz=1.5), SENSOR, 0, 2_000_000, rng)
    clustered = background(SensorProfile("x", ba_hz=1.5, ba_cluster=0.8), SENSOR, 0, 2_000_000, rng)
    fp, fc = fit_profile_values(plain, SENSOR), fit_profile_values(clustered, SENSOR)
    assert abs(fp["ba_hz"] - 1.5) < 0.15 and fp["ba_cluster"] < 0.05 and fp["hot_share"] == 0
    assert fc["ba_cluster"] > 3 * fp["ba_cluster"] + 0.05  # clustered noise shows as clustered
    assert abs(fp["on_off"] - 1.0) < 0.05


@pytest.mark.parametrize("bad,msg", [("kinect", "unknown sensor profile 'kinect'; choose dvs128, davis346"),
                                     (None, "unknown sensor profile None")])
def test_a_profile_that_does_not_exist_is_one_clear_error(bad, msg):
    with pytest.raises(SastLiveError, match=msg):
        profile(bad)
    with pytest.raises(SastLiveError, match="ba_hz -1 must be"):
        SensorProfile("x", ba_hz=-1)
