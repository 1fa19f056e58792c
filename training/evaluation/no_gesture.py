"""Does the live app keep quiet when there is no gesture? The streaming pipeline (a prediction every 250 ms over
the last window, the model's decision rule) over scenes with nothing to recognise, and over the demo.

Scenes (128×128, each ``SECONDS`` long, seeded):

* ``silence`` — a still scene: only the sensor's floor noise (0.05 Hz per pixel), as a DVS sends in a still room;
* ``noise 1 Hz`` / ``noise 5 Hz`` — background activity per pixel (a dark room, a warm sensor);
* ``hot pixels`` — 33 pixels (0.2 % of the array, the evaluation's severity 2) firing at 1 kHz, plus floor noise;
* real recordings of things that are not gestures, from ``../shared/data/real``, split once in
  :mod:`training.data.real_scenes`: the **held-out** ones (two N-CARS samples, ATIS; Prophesee's pedestrians,
  Gen4 1280×720; a person's head and shoulders, DVXplorer 320×240; N-MNIST test digits one after another, as
  they are and three times larger, an object near the lens) carry the criterion, the ones gestures-v3 trains on
  (sparklers and a Gen3 scene, a Gen4 scene) are reported apart, marked "(training side)", as centre crops only
  (their pooled views carry 5–25 M events/s, beyond any 128×128 sensor). They last
  45–590 ms, so each is **looped**: repeated back to back over the whole ``SECONDS``, so every window is full of
  the scene (a clip placed once into silence would leave most windows empty, and a check made of those could
  not fail). Larger sensors are seen two ways: pooled to 128×128, and their centre 128×128 crop at full
  resolution (what a DVS128 at that spot would see, objects as large) — the rules of
  :mod:`training.data.real_scenes`.
"""

from __future__ import annotations

import numpy as np

from sast_live.events import SensorSize, concat, make_events, tile
from sast_live.transforms.geometry import Warp, warp
from training.data.real_scenes import HELD_OUT, HELD_OUT_DIGITS, TRAINING, centre_crop, digit_clip, to_128

SENSOR = SensorSize(128, 128)
SECONDS = 4.0
FLOOR_HZ = 0.05
REAL = {**HELD_OUT, **TRAINING}  # every real scene; the criterion is on the held-out ones
DIGITS = "N-MNIST test digits (ATIS)"


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


def looped(clip: np.ndarray, rng: np.random.Generator, seconds: float = SECONDS) -> np.ndarray:
    """``clip`` repeated back to back over ``seconds`` (every window full of it), with the sensor's floor noise."""
    return _sorted([tile(clip, int(seconds * 1e6)), noise(FLOOR_HZ, seconds, rng)])


def _sorted(parts) -> np.ndarray:
    ev = concat(parts)
    return ev[np.argsort(ev["t"], kind="stable")]


def scenes(shared, seed: int = 0, held_out: bool = True) -> dict[str, np.ndarray]:
    """Every scene's events (128×128, t from 0); real recordings only where ``shared`` holds them; without
    ``held_out`` the held-out real recordings are left out (a validation report must not see them)."""
    from sast_live.formats.registry import open_events

    rng = np.random.default_rng(seed)
    out = {"silence": noise(FLOOR_HZ, SECONDS, rng), "noise 1 Hz": noise(1.0, SECONDS, rng),
           "noise 5 Hz": noise(5.0, SECONDS, rng),
           "hot pixels": _sorted([hot_pixels(33, 1000.0, SECONDS, rng), noise(FLOOR_HZ, SECONDS, rng)])}
    for name, rel in REAL.items():
        path = shared / rel
        if not path.is_file() or (name in HELD_OUT and not held_out):
            continue
        reader = open_events(path)
        events = reader.read()
        seen = "" if name in HELD_OUT else " (training side)"
        if name in HELD_OUT:  # the training side's pooled views (5–25 M events/s) are beyond any 128×128 sensor
            out[f"{name}, looped"] = looped(to_128(events, reader.sensor_size), rng)
        crop = centre_crop(events, reader.sensor_size)
        if crop is not None:
            out[f"{name}, centre crop, looped{seen}"] = looped(crop, rng)
    folder = shared / "slayer-nmnist" / "NMNISTsmall"
    digits = [digit_clip(folder / f"{i}.bs2") for i in HELD_OUT_DIGITS[:20]
              if held_out and (folder / f"{i}.bs2").is_file()]
    if digits:
        chain = _chain(digits)
        out[f"{DIGITS}, looped"] = looped(chain, rng)
        out[f"{DIGITS} ×3 (near the lens), looped"] = looped(warp(chain, SENSOR, Warp(scale=3.0), seed=seed), rng)
    return out


def _chain(clips) -> np.ndarray:
    """Clips one after another (each from where the last ended)."""
    parts, t0 = [], 0
    for c in clips:
        part = c.copy()
        part["t"] = part["t"] + t0
        parts.append(part)
        t0 = int(part["t"][-1]) + 1
    return concat(parts)


def _tally(wins, seconds: float, n_events: int) -> dict:
    """What a stream of full windows said: windows, claims, unfamiliar, claims at ≥ 80 %, the highest claim."""
    from models.decision import UNFAMILIAR_CLASS

    claims = [w for w in wins if w.class_index >= 0]
    return {"windows": len(wins), "claims": len(claims),
            "unfamiliar": sum(w.class_index == UNFAMILIAR_CLASS for w in wins),
            "claims_at_80": sum(w.confidence >= 0.8 for w in claims),
            "max_claim": max((w.confidence for w in claims), default=0.0),
            "claimed": sorted({w.class_name for w in claims}),
            "events_per_s": n_events / seconds if seconds > 0 else 0.0}


def no_gesture_report(backend, shared, options, seed: int = 0, held_out: bool = True) -> dict:
    """Per scene: windows, windows that claim a gesture, claims at ≥ 80 % confidence, the highest claim (the full
    windows of the pipeline with ``options``, a :class:`~sast_live.pipeline.options.PipelineOptions`); without
    ``held_out``, not the held-out real recordings."""
    from sast_live.pipeline.pipeline import stream_windows

    return {name: _tally(stream_windows(backend, events, SENSOR, options), SECONDS, len(events))
            for name, events in scenes(shared, seed, held_out).items()}


def streamed_no_gesture(backend, dataset, options, progress: bool = False) -> dict:
    """The no-gesture recordings of ``dataset`` (an :class:`~training.data.datasets.EventDataset` split; its class
    ``no_gesture``), each streamed whole through the pipeline as the app would (not looped, not padded), tallied
    per dataset folder (``gestures-v3``'s walkers, people standing up, hands at the lens and real scenes apart from
    gestures-v2's still people and passing objects). Empty when the dataset has no such class."""
    from tqdm import tqdm

    from sast_live.pipeline.pipeline import stream_windows

    if "no_gesture" not in dataset.classes:
        return {}
    label = list(dataset.classes).index("no_gesture")
    per = {}
    picks = [i for i, y in enumerate(dataset.labels) if y == label]
    for i in tqdm(picks, desc="streaming no-gesture recordings", disable=not progress):
        events, _ = dataset[i]
        seconds = (float(events["t"][-1] - events["t"][0]) / 1e6) if len(events) else 0.0
        t = _tally(stream_windows(backend, events, dataset.sensor_size, options), seconds, len(events))
        acc = per.setdefault(_source(dataset.files[i]), {"recordings": 0, "windows": 0, "claims": 0, "unfamiliar": 0,
                                                         "claims_at_80": 0, "max_claim": 0.0, "claimed": set()})
        acc["recordings"] += 1
        for k in ("windows", "claims", "unfamiliar", "claims_at_80"):
            acc[k] += t[k]
        acc["max_claim"] = max(acc["max_claim"], t["max_claim"])
        acc["claimed"] |= set(t["claimed"])
    return {k: {**v, "claimed": sorted(v["claimed"])} for k, v in per.items()}


def _source(path) -> str:
    """The dataset folder a recording file lies in (``<folder>/<split>/<class>/<file>``)."""
    from pathlib import Path

    parents = Path(path).parents
    return parents[2].name if len(parents) > 2 else str(Path(path).parent)


def render_streamed(report: dict) -> list[str]:
    lines = ["| recordings from | recordings | full windows | unfamiliar | claim a gesture | at ≥ 80 % | highest claim "
             "| what |", "|---|---|---|---|---|---|---|---|"]
    for name, r in report.items():
        lines.append(f"| {name} | {r['recordings']} | {r['windows']} | {r['unfamiliar']} | {r['claims']} | "
                     f"{r['claims_at_80']} | {r['max_claim']:.2f} | {', '.join(r['claimed'])} |")
    return lines


def is_held_out(scene: str) -> bool:
    """Whether a scene of :func:`scenes` is one of the held-out real recordings."""
    return any(scene.startswith(f"{name},") for name in HELD_OUT) or scene.startswith(DIGITS)


def real_scenes_summary(report: dict) -> dict:
    """Over the held-out real recordings (not the simulated scenes, not those training saw): full windows, how
    many name a gesture at ≥ 80 %, and the share that says no gesture or unfamiliar scene (issue 29's bar: none
    at ≥ 80 %, ≥ 95 % quiet)."""
    real = {k: v for k, v in report.items() if is_held_out(k)}
    return {"scenes": len(real), **totals(real.values())}


def totals(tallies) -> dict:
    """Tallies of :func:`_tally` added up: full windows, those naming a gesture at ≥ 80 %, and the share saying no
    gesture or unfamiliar scene (None without a window)."""
    tallies = list(tallies)
    windows = sum(v["windows"] for v in tallies)
    quiet = sum(v["windows"] - v["claims"] for v in tallies)
    return {"windows": windows, "claims_at_80": sum(v["claims_at_80"] for v in tallies),
            "quiet_share": quiet / windows if windows else None}


def render_no_gesture(report: dict) -> list[str]:
    lines = ["| scene | events/s | windows | unfamiliar | claim a gesture | at ≥ 80 % | highest claim | what |",
             "|---|---|---|---|---|---|---|---|"]
    for name, r in report.items():
        lines.append(f"| {name} | {r['events_per_s']:,.0f} | {r['windows']} | {r.get('unfamiliar', 0)} | "
                     f"{r['claims']} | {r['claims_at_80']} | "
                     f"{r['max_claim']:.2f} | {', '.join(r['claimed'])} |")
    s = real_scenes_summary(report)
    if s["windows"]:
        lines += ["", f"The {s['scenes']} held-out real scenes, looped to fill every window: {s['windows']} full "
                      f"windows, "
                      f"{s['claims_at_80']} name a gesture at ≥ 80 %, {s['quiet_share']:.0%} say no gesture or "
                      "unfamiliar scene."]
    return lines
