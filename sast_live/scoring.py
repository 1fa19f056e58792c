"""How right the live app was on a labelled recording (IBM-style ``_labels.csv`` beside it): per labelled gesture,
the share of full prediction windows inside it that name it, and the latency from its start to the first
correct, stable prediction; in the unlabelled pauses, the share of windows that say "no gesture".

Pure functions over :class:`~sast_live.pipeline.snapshot.WindowResult` lists (``replay --score`` prints them).
"""

from __future__ import annotations

import numpy as np

from models.decision import NO_CLASS


def _inside(w, start: int, end: int) -> bool:
    return w.t_start_us >= start and w.t_end_us <= end


def first_stable(windows, cls: int, start: int, end: int, run: int = 2):
    """The first window ending after ``start`` (and by ``end``) from which ``run`` predictions in a row name
    ``cls``; None if there is none."""
    seq = [w for w in windows if start < w.t_end_us <= end and not w.partial]
    for i in range(len(seq) - run + 1):
        if all(seq[i + k].class_index == cls for k in range(run)):
            return seq[i]
    return None


def score_recording(windows, labels, classes, t_end_us: int | None = None) -> dict:
    """``labels``: ``[(class 0–10, start_us, end_us), …]`` in stream time. Pauses are the unlabelled stretches
    between the first label's start and the stream's end (``t_end_us``, default the last window's end)."""
    full = [w for w in windows if not w.partial]
    gestures = []
    for cls, start, end in labels:
        inside = [w for w in full if _inside(w, start, end)]
        stable = first_stable(full, cls, start, end)
        right = sum(w.class_index == cls for w in inside)
        gestures.append({"class": cls, "name": classes[cls], "start_us": start, "end_us": end,
                         "windows": len(inside), "correct": right,
                         "majority": bool(inside) and right * 2 > len(inside),
                         "latency_s": None if stable is None else (stable.t_end_us - start) / 1e6})
    t_end = t_end_us if t_end_us is not None else max((w.t_end_us for w in windows), default=0)
    edges = sorted((s, e) for _, s, e in labels)
    pauses, cursor = [], edges[0][0] if edges else 0
    for s, e in edges:
        if s > cursor:
            pauses.append((cursor, s))
        cursor = max(cursor, e)
    if t_end > cursor:
        pauses.append((cursor, t_end))
    pause_rows = []
    for s, e in pauses:
        inside = [w for w in full if _inside(w, s, e)]
        if inside:
            pause_rows.append({"start_us": s, "end_us": e, "windows": len(inside),
                               "no_gesture": sum(w.class_index <= NO_CLASS for w in inside)})  # or unfamiliar
    lat = [g["latency_s"] for g in gestures]
    found = [v for v in lat if v is not None]
    return {"gestures": gestures, "pauses": pause_rows,
            "gestures_with_majority": sum(g["majority"] for g in gestures), "n_gestures": len(gestures),
            "median_latency_s": median_latency(lat),
            "missed": len(lat) - len(found),
            "pause_no_gesture": (sum(p["no_gesture"] for p in pause_rows) / max(1, sum(p["windows"] for p in
                                                                                    pause_rows)))
            if pause_rows else None}


def score_so_far(windows, labels, classes, since_us: int | None = None) -> dict | None:
    """:func:`score_recording` of a replay under way (or begun part-way, after a seek): only the labels whose whole
    span the ``windows`` (file time, non-decreasing) already cover — from ``since_us``, where the replay that gave
    them began (default: the first window's start), to the last window's end; None before any is covered."""
    full = [w for w in windows if not w.partial]
    if not full:
        return None
    lo, hi = (full[0].t_start_us if since_us is None else since_us), full[-1].t_end_us
    covered = [(k, a, b) for k, a, b in labels if lo <= a and b <= hi]
    return score_recording(full, covered, classes, hi) if covered else None


def score_line(score: dict) -> str:
    """One line of :func:`score_recording` for the window (its table is :func:`render_score`)."""
    parts = [f"{score['gestures_with_majority']}/{score['n_gestures']} labelled gestures named by most of their "
             f"windows", f"median latency {latency_text(score['median_latency_s'])}"]
    if score["pause_no_gesture"] is not None:
        parts.append(f"pauses {score['pause_no_gesture']:.0%} no gesture")
    return " · ".join(parts)


def render_score(score: dict) -> str:
    """A short readable table of :func:`score_recording`."""
    lines = [f"{'gesture':<28} {'start s':>8} {'windows':>8} {'correct':>8} {'latency s':>10}"]
    for g in score["gestures"]:
        lat = "missed" if g["latency_s"] is None else f"{g['latency_s']:.2f}"
        lines.append(f"{g['name']:<28} {g['start_us'] / 1e6:8.2f} {g['windows']:8d} {g['correct']:8d} {lat:>10}")
    for p in score["pauses"]:
        lines.append(f"{'(pause)':<28} {p['start_us'] / 1e6:8.2f} {p['windows']:8d} {p['no_gesture']:8d}"
                     f"{'':>10}  'no gesture'")
    lines.append(f"majority right in {score['gestures_with_majority']}/{score['n_gestures']} gestures; median "
                 f"latency {latency_text(score['median_latency_s'])} ({score['missed']} missed)")
    return "\n".join(lines)


def median_latency(latencies: list) -> float | None:
    """The median of per-gesture latencies (s; None = missed, counted as infinitely late); None when there are none
    or half or more were missed (no finite median — and JSON has no Infinity)."""
    if not latencies:
        return None
    m = float(np.median([np.inf if v is None else v for v in latencies]))
    return m if np.isfinite(m) else None


def latency_text(value: float | None) -> str:
    """``"0.50 s"``, or what a missing median means."""
    return "none (half or more missed)" if value is None else f"{value:.2f} s"
