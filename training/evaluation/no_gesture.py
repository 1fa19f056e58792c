"""Does the live app keep quiet when there is no gesture? The streaming pipeline (a prediction every 250 ms over
the last window, the model's decision rule) over scenes with nothing to recognise, and over the demo.

Scenes (128×128, each ``SECONDS`` long, seeded):

* ``silence`` — a still scene: only the sensor's floor noise (0.05 Hz per pixel), as a DVS sends in a still room;
* ``noise 1 Hz`` / ``noise 5 Hz`` — background activity per pixel (a dark room, a warm sensor);
* ``hot pixels`` — 33 pixels (0.2 % of the array, the evaluation's severity 2) firing at 1 kHz, plus floor noise;
* real recordings of things that are not gestures, from ``../shared/data/real``: two N-CARS samples (a car or
  background, ATIS), Prophesee's pedestrians (EVT3, 1280×720) and sparklers (EVT2, 640×480). They last 45–100 ms,
  so each is shown twice: ``once`` (at 0.5 s into floor noise) and ``looped`` (repeated back to back).

**Mapping a real recording to 128×128** (documented rule): its sensor (or, when the file does not say, the extent
of its events) is pooled by the smallest integer ``k`` with ``max(W, H) / k ≤ 128`` (``x // k``, ``y // k``,
every event kept) and centred; times start at 0.
"""

from __future__ import annotations

import math

import numpy as np

from sast_live.events import SensorSize, concat, make_events

SENSOR = SensorSize(128, 128)
SECONDS = 4.0
FLOOR_HZ = 0.05
REAL = {"N-CARS sample (tonic)": "tonic/sample_ncars.dat",
        "N-CARS obj_004397": "expelliarmus/NCARS_obj_004397_td.dat",
        "pedestrians (EVT3)": "expelliarmus/evt3_test_pedestrians.raw",
        "sparklers (EVT2)": "expelliarmus/sparklers.raw"}


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
    w = sensor.width if sensor else int(events["x"].max()) + 1
    h = sensor.height if sensor else int(events["y"].max()) + 1
    k = max(1, math.ceil(max(w, h) / 128))
    ox, oy = (128 - math.ceil(w / k)) // 2, (128 - math.ceil(h / k)) // 2
    return make_events(events["t"] - events["t"][0], events["x"] // k + ox, events["y"] // k + oy, events["p"])


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
        clip = to_128(reader.read(), reader.sensor_size)
        span = int(clip["t"][-1]) + 1
        once = clip.copy()
        once["t"] += 500_000
        out[f"{name}, once"] = _sorted([once, noise(FLOOR_HZ, SECONDS, rng)])
        loops = []
        for k in range(int(SECONDS * 1e6) // span):
            part = clip.copy()
            part["t"] += k * span
            loops.append(part)
        out[f"{name}, looped"] = _sorted([*loops, noise(FLOOR_HZ, SECONDS, rng)])
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


def render_no_gesture(report: dict) -> list[str]:
    lines = ["| scene | events/s | windows | claim a gesture | at ≥ 80 % | highest claim | what |",
             "|---|---|---|---|---|---|---|"]
    for name, r in report.items():
        lines.append(f"| {name} | {r['events_per_s']:,.0f} | {r['windows']} | {r['claims']} | {r['claims_at_80']} | "
                     f"{r['max_claim']:.2f} | {', '.join(r['claimed'])} |")
    return lines
