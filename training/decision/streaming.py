"""Choose the live app's streaming window on validation people, never on the demo or the test subjects.

The app predicts every 250 ms over the last window; how long the window is and how it weighs its hops
(``--window-ms``, ``--taper``) trade the latency after a gesture starts against steadiness. This module renders
one continuous recording for each validation subject of the gesture models (:data:`VALIDATION_SUBJECTS`, the
training subjects that ``train --validation 0.13`` holds out), with all 11 gestures back to back, a pause and a
lighting change, and scores every setting with :func:`sast_live.scoring.score_recording` on the INT8 model.

Per setting, the confidence floor is fitted for streaming windows on the same recordings, with the rule the
training uses on clipped windows (:func:`training.decision.calibration.fit_decision`): the calibrated confidence
that 98 % of the correctly named windows inside a gesture reach (the temperature stays the one fitted in training);
and so are the "unfamiliar scene" limits: the energy that 99 % of the full windows inside a gesture stay below
(:data:`training.decision.calibration.UNFAMILIAR_SHARE`) and the range of events per second of the full windows
(0.1–99.9 %, widened by :data:`training.decision.calibration.RATE_MARGIN`) — so a model trained before they
existed gets them from validation data too.

Rule: among the settings whose median latency is at most :data:`LATENCY_TARGET_S`, the one where the most
gestures keep a right majority of windows (then: the most pause windows saying "no gesture", then the lower
latency); if none meets the latency, the lowest latency. ``main.py choose-window [CKPT]`` prints the table,
writes it as JSON (``--out``) and, with ``--write``, stores the choice in the checkpoint's decision
(``window_ms``, ``taper`` and the streaming floor as ``min_confidence`` in ``model.json``: the live app's
defaults for that model; the clipped-window floor it replaces is kept as ``clip_min_confidence`` in the JSON).
"""

from __future__ import annotations

import json
import math
from dataclasses import replace
from pathlib import Path

import numpy as np
from tqdm import tqdm

from models.decision import TAPERS
from sast_live.scoring import latency_text, median_latency
from sast_live.synthetic import people

VALIDATION_SUBJECTS = (20, 21, 22)
LATENCY_TARGET_S = 0.6
WINDOWS_MS = (500, 750, 1000)
LIGHTS = ("natural", "fluorescent", "led")
KEEP = 0.98  # the share of correctly named gesture windows the floor lets through


def script(k: int) -> tuple:
    """Subject ``k``'s recording: the 11 gestures (2.5 s each, order rotated by ``k``), a 3-s pause after the
    fifth, one lighting for the first half and another after the pause."""
    order = [(c + 4 * k) % 11 for c in range(11)]
    first, second = LIGHTS[k % 3], LIGHTS[(k + 1) % 3]
    return tuple((c, 2.5, first) for c in order[:5]) + ((people.IDLE, 3.0, first),) + \
        tuple((c, 2.5, second) for c in order[5:])


def recordings(seed: int = 7) -> list[tuple[np.ndarray, list]]:
    """``[(events, labels)]`` per validation subject; labels ``[(class, start_us, end_us)]`` without the pause."""
    out = []
    for k, sid in enumerate(tqdm(VALIDATION_SUBJECTS, desc="rendering validation recordings", unit="subject")):
        events, spans = people.make_sequence(people.subject(sid), script(k), seed + k)
        out.append((events, [(c, a, b) for c, a, b in spans if c != people.IDLE]))
    return out


def score_settings(checkpoint, recs) -> dict:
    """Per setting ``"W ms, taper"``: gestures with a right majority, median latency, pause windows saying no
    gesture — pooled over the recordings."""
    from firmware_sim.precisions import DEPLOYED, PRECISIONS
    from sast_live.pipeline import load_backend
    from sast_live.pipeline.options import PipelineOptions
    from sast_live.pipeline.pipeline import stream_windows
    from sast_live.scoring import score_recording

    backend = load_backend(checkpoint, PRECISIONS[DEPLOYED])
    sensor = backend.bin_cfg.sensor_size
    fitted = backend.decision
    table = {}
    for ms in WINDOWS_MS:
        for taper in TAPERS:
            options = PipelineOptions(window_ms=ms, taper=taper)  # a prediction every hop, as the app does
            if options.window_bins(backend) > backend.n_bins:
                continue
            backend.decision = replace(fitted, min_confidence=0.0)
            runs = [(stream_windows(backend, ev, sensor, options), labels) for ev, labels in recs]
            floor = stream_floor(runs)
            limit, rates = stream_energy_limit(runs), stream_rate_range(runs)
            backend.decision = replace(fitted, min_confidence=floor, max_energy=limit, event_rate=rates)
            scores = [score_recording(stream_windows(backend, ev, sensor, options), labels, backend.classes)
                      for ev, labels in recs]
            lat = [g["latency_s"] for s in scores for g in s["gestures"]]
            pauses = [p for s in scores for p in s["pauses"]]
            table[f"{ms} ms, {taper}"] = {
                "window_ms": ms, "taper": taper,
                "gestures_with_majority": sum(s["gestures_with_majority"] for s in scores),
                "n_gestures": sum(s["n_gestures"] for s in scores),
                "min_confidence": floor, "max_energy": limit, "event_rate": rates,
                "median_latency_s": median_latency(lat),
                "missed": sum(v is None for v in lat),
                "pause_no_gesture": sum(p["no_gesture"] for p in pauses) / max(1, sum(p["windows"] for p in pauses))}
    backend.decision = fitted
    return table


def stream_floor(runs) -> float:
    """The calibrated confidence that :data:`KEEP` of the correctly named full windows inside a labelled gesture
    reach; ``runs`` = ``[(windows, labels)]`` streamed without a floor."""
    conf = [w.confidence for wins, labels in runs for c, a, b in labels for w in wins
            if w.t_start_us >= a and w.t_end_us <= b and w.class_index == c]
    return round(float(np.quantile(conf, 1 - KEEP)), 4) if conf else 0.0


def stream_energy_limit(runs) -> float | None:
    """The energy that all but :data:`~training.decision.calibration.UNFAMILIAR_SHARE` of the full windows inside
    a labelled gesture stay below; ``runs`` as :func:`stream_floor` takes them."""
    from training.decision.calibration import energy_limit

    return energy_limit([w.energy for wins, labels in runs for c, a, b in labels for w in wins
                         if w.t_start_us >= a and w.t_end_us <= b and not w.partial])


def stream_rate_range(runs) -> tuple[float, float] | None:
    """Events per second of the full streamed windows (gestures and pauses), 0.1–99.9 %, widened by the
    calibration's margin; ``runs`` as :func:`stream_floor` takes them."""
    from training.decision.calibration import rate_range

    return rate_range([w.events / ((w.t_end_us - w.t_start_us) * 1e-6) for wins, _ in runs for w in wins
                       if not w.partial])


def choose(table: dict) -> str:
    """The rule of the module docstring."""
    def lat(k):  # None: half or more missed, later than any
        v = table[k]["median_latency_s"]
        return math.inf if v is None else v

    fast = [k for k in table if lat(k) <= LATENCY_TARGET_S]
    if not fast:
        return min(table, key=lat)
    return max(fast, key=lambda k: (table[k]["gestures_with_majority"], table[k]["pause_no_gesture"], -lat(k)))


def choose_window(checkpoint: str, out: str | None = None, write: bool = False) -> tuple[dict, str, Path]:
    """Score every setting on the validation subjects' recordings, pick one by the rule, write the table as JSON
    (``out``; default ``streaming-choice.json`` beside the checkpoint) and, with ``write``, store the choice in the
    checkpoint's decision. Returns ``(table, chosen setting, JSON path)``."""
    table = score_settings(checkpoint, recordings())
    best = choose(table)
    path = Path(out) if out else Path(checkpoint).parent / "streaming-choice.json"
    path.write_text(json.dumps({"subjects": VALIDATION_SUBJECTS, "rule": __doc__.split("\n\n")[2],
                                "settings": table, "chosen": best}, indent=2))
    if write:
        r = table[best]
        store(Path(checkpoint).with_suffix(".json"), r["window_ms"], r["taper"], r["min_confidence"],
              r.get("max_energy"), r.get("event_rate"))
    return table, best, path


def render(table: dict, best: str) -> str:
    """The table, one line per setting, the chosen one marked."""
    return "\n".join(f"{name:>16}: floor {r['min_confidence']:.3f}, {r['gestures_with_majority']}/{r['n_gestures']} "
                     f"gestures with a right majority, median latency {latency_text(r['median_latency_s'])}, pause "
                     f"{r['pause_no_gesture']:.0%} no gesture" + ("   <- chosen" if name == best else "")
                     for name, r in table.items())


def store(meta_path: Path, window_ms: int, taper: str, min_confidence: float, max_energy: float | None = None,
          event_rate=None) -> None:
    """Put the streaming choice into a checkpoint's ``decision`` (JSON rewritten atomically; weights untouched);
    the floor (and energy limit) fitted on clipped windows move to ``clip_min_confidence`` (``clip_max_energy``) at
    the JSON's top level."""
    meta = json.loads(meta_path.read_text())
    decision = meta.setdefault("decision", {})
    meta.setdefault("clip_min_confidence", decision.get("min_confidence", 0.0))
    if max_energy is not None:
        if decision.get("max_energy") is not None:  # the clipped-window limit training fitted, if it did
            meta.setdefault("clip_max_energy", decision["max_energy"])
        decision["max_energy"] = float(max_energy)
    if event_rate is not None:
        decision["event_rate"] = [float(event_rate[0]), float(event_rate[1])]
    base = str(decision.get("fitted_on", "")).split("; floor:")[0]
    decision.update(window_ms=int(window_ms), taper=taper, min_confidence=float(min_confidence),
                    fitted_on=f"{base}; floor: streaming windows of the validation subjects' recordings "
                              f"{list(VALIDATION_SUBJECTS)}")
    tmp = meta_path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(meta, indent=2))
    tmp.replace(meta_path)

