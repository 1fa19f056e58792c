"""Does the live app keep quiet when there is no gesture? The streaming pipeline (a prediction every 250 ms over
the last window, the model's decision rule) over scenes with nothing to recognise, and over the demo.

Scenes (128×128, each ``SECONDS`` long, seeded):

* ``silence`` — a still scene: only the sensor's floor noise (0.05 Hz per pixel), as a DVS sends in a still room;
* ``noise 1 Hz`` / ``noise 5 Hz`` — background activity per pixel (a dark room, a warm sensor);
* ``hot pixels`` — 33 pixels (0.2 % of the array, the evaluation's severity 2) firing at 1 kHz, plus floor noise;
* real recordings of things that are not gestures, from ``../shared/data/real``: two N-CARS samples (a car or
  background, ATIS), Prophesee's pedestrians (EVT3, 1280×720), sparklers (EVT2, 640×480) and a person's head and
  shoulders (DVXplorer, 320×240, AEDAT4). They last 45–590 ms, so each is **looped**: repeated back to back over
  the whole ``SECONDS``, so every window is full of the scene (a clip placed once into silence would leave most
  windows empty, and a check made of those could not fail). Larger sensors are seen two ways: pooled to 128×128,
  and their centre 128×128 crop at full resolution (what a DVS128 at that spot would see, objects as large).

**Mapping a real recording to 128×128** (documented rule): ``pooled``: its sensor (or, when the file does not
say, the extent of its events) is pooled by the smallest integer ``k`` with ``max(W, H) / k ≤ 128`` (``x // k``,
``y // k``, every event kept) and centred; ``centre crop``: the events of the middle 128×128 pixels. Times start
at 0.
"""

from __future__ import annotations

import math

import numpy as np

from sast_live.events import SensorSize, concat, make_events, sensor_or_extent

SENSOR = SensorSize(128, 128)
SECONDS = 4.0
FLOOR_HZ = 0.05
REAL = {"N-CARS sample (tonic)": "tonic/sample_ncars.dat",
        "N-CARS obj_004397": "expelliarmus/NCARS_obj_004397_td.dat",
        "pedestrians (EVT3)": "expelliarmus/evt3_test_pedestrians.raw",
        "sparklers (EVT2)": "expelliarmus/sparklers.raw",
        "person, head and shoulders (DVXplorer)": "tonic/sample.aedat4"}


def noise(rate_hz: float, seconds: float, rng: np.random.Generator, t0: int = 0) -> np.ndarray:
    """Uniform background activity: ``rate_hz`` per pixel, random polarity."""
    n = rng.poisson(rate_hz * SENSOR.width * SENSOR.height * seconds)
    t = np.sort(rng.integers(t0, t0 + int(seconds * 1e6), n))
    return make_events(t, rng.integers(0, SENSOR.width, n), rng.integers(0, SENSOR.height, n), rng.integers(0, 2, n))


def hot_pixels(n: int, rate_hz: float, seconds: float, rng: np.random.Generator) -> np.ndarray:
    parts = []
    for _ in range(n):
        t = np.arange(int(rng.integers(0, 1_000_000 / rate_hz)), int(seconds * 1e6), int(1e6 / rate_hz))
        parts.append(make_events(t, np.full(len(t), rng.integers(0, 128)), np.full(len(t), rng.integers(0, 128)),
                                 np.full(len(t), rng.integers(0, 2))))
    return concat(parts)


def to_128(events: np.ndarray, sensor: SensorSize | None) -> np.ndarray:
    """The documented rule: pool by the smallest integer k that fits 128×128, centre, times from 0."""
    w, h = sensor_or_extent(sensor, events)
    k = max(1, math.ceil(max(w, h) / 128))
    ox, oy = (128 - math.ceil(w / k)) // 2, (128 - math.ceil(h / k)) // 2
    return make_events(events["t"] - events["t"][0], events["x"] // k + ox, events["y"] // k + oy, events["p"])


def centre_crop(events: np.ndarray, sensor: SensorSize) -> np.ndarray | None:
    """The events of the middle 128×128 pixels of a larger sensor, at full resolution, times from 0 (None for a
    sensor no larger than 128×128, or when the middle holds no events)."""
    if sensor is None or (sensor.width <= 128 and sensor.height <= 128):
        return None
    x0, y0 = max(0, (sensor.width - 128) // 2), max(0, (sensor.height - 128) // 2)
    keep = (events["x"] >= x0) & (events["x"] < x0 + 128) & (events["y"] >= y0) & (events["y"] < y0 + 128)
    if not keep.any():
        return None
    ev = events[keep]
    return make_events(ev["t"] - ev["t"][0], ev["x"] - x0, ev["y"] - y0, ev["p"])


def looped(clip: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """``clip`` repeated back to back over ``SECONDS`` (every window full of it), with the sensor's floor noise."""
    span = int(clip["t"][-1]) + 1
    loops = []
    for k in range(-(-int(SECONDS * 1e6) // span)):
        part = clip.copy()
        part["t"] += k * span
        loops.append(part[part["t"] < int(SECONDS * 1e6)])
    return _sorted([*loops, noise(FLOOR_HZ, SECONDS, rng)])


def _sorted(parts) -> np.ndarray:
    ev = concat(parts)
    return ev[np.argsort(ev["t"], kind="stable")]


def scenes(shared, seed: int = 0) -> dict[str, np.ndarray]:
    """Every scene's events (128×128, t from 0); real recordings only where ``shared`` holds them."""
    from sast_live.formats.registry import open_events

    rng = np.random.default_rng(seed)
    out = {"silence": noise(FLOOR_HZ, SECONDS, rng), "noise 1 Hz": noise(1.0, SECONDS, rng),
           "noise 5 Hz": noise(5.0, SECONDS, rng),
           "hot pixels": _sorted([hot_pixels(33, 1000.0, SECONDS, rng), noise(FLOOR_HZ, SECONDS, rng)])}
    for name, rel in REAL.items():
        path = shared / rel
        if not path.is_file():
            continue
        reader = open_events(path)
        events = reader.read()
        out[f"{name}, looped"] = looped(to_128(events, reader.sensor_size), rng)
        crop = centre_crop(events, reader.sensor_size)
        if crop is not None:
            out[f"{name}, centre crop, looped"] = looped(crop, rng)
    return out


def no_gesture_report(backend, shared, options, seed: int = 0) -> dict:
    """Per scene: windows, windows that claim a gesture, claims at ≥ 80 % confidence, the highest claim (the full
    windows of the pipeline with ``options``, a :class:`~sast_live.pipeline.options.PipelineOptions`)."""
    from models.decision import NO_CLASS
    from sast_live.pipeline.pipeline import stream_windows

    out = {}
    for name, events in scenes(shared, seed).items():
        wins = stream_windows(backend, events, SENSOR, options)
        claims = [w for w in wins if w.class_index != NO_CLASS]
        out[name] = {"windows": len(wins), "claims": len(claims),
                     "claims_at_80": sum(w.confidence >= 0.8 for w in claims),
                     "max_claim": max((w.confidence for w in claims), default=0.0),
                     "claimed": sorted({w.class_name for w in claims}),
                     "events_per_s": len(events) / SECONDS}
    return out


def real_scenes_summary(report: dict) -> dict:
    """Over the real recordings (every scene but the simulated ones): full windows, how many name a gesture at
    ≥ 80 %, and the share that says no gesture (issue 29's bar: none at ≥ 80 %, ≥ 95 % quiet)."""
    real = {k: v for k, v in report.items() if any(k.startswith(f"{name},") for name in REAL)}
    windows = sum(v["windows"] for v in real.values())
    quiet = sum(v["windows"] - v["claims"] for v in real.values())
    return {"scenes": len(real), "windows": windows, "claims_at_80": sum(v["claims_at_80"] for v in real.values()),
            "quiet_share": quiet / windows if windows else None}


def render_no_gesture(report: dict) -> list[str]:
    lines = ["| scene | events/s | windows | claim a gesture | at ≥ 80 % | highest claim | what |",
             "|---|---|---|---|---|---|---|"]
    for name, r in report.items():
        lines.append(f"| {name} | {r['events_per_s']:,.0f} | {r['windows']} | {r['claims']} | {r['claims_at_80']} | "
                     f"{r['max_claim']:.2f} | {', '.join(r['claimed'])} |")
    s = real_scenes_summary(report)
    if s["windows"]:
        lines += ["", f"The {s['scenes']} real scenes, looped to fill every window: {s['windows']} full windows, "
                      f"{s['claims_at_80']} name a gesture at ≥ 80 %, {s['quiet_share']:.0%} say no gesture."]
    return lines
