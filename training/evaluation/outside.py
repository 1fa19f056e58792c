"""Footage with no gesture in it, from outside the repository: does the app keep quiet on it?

Issue 29's last criterion is a replay by the maintainers of real recordings that are not in the repository
(people walking, standing up, a hand near the lens…): at most :data:`BAR` of their full windows may name a
gesture at ≥ 80 % confidence. ``main.py scenes MODEL FILE…`` runs exactly that check on any event files the app
reads, with the rules :mod:`training.evaluation.no_gesture` uses on the repository's own real scenes:

* each file is put on the gesture model's 128×128 sensor as :mod:`training.data.real_scenes` documents it — as
  recorded when its sensor is no larger; for a larger sensor pooled by the smallest integer factor that fits
  (``--fit pool``, the app's default for such cameras), its centre 128×128 crop at full resolution (``--fit
  crop``), or both views, each counted;
* a view shorter than ``min_seconds`` is **looped** — repeated back to back to fill ``min_seconds``, with the
  sensor's floor noise — so every window is full of the scene (never padded with silence, which would leave empty
  windows that cannot fail); a longer one is streamed whole, once;
* the live app's streaming pipeline at the deployed precision (INT8), its own window, hop and decision rule;
  only full windows count.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from sast_live.errors import SastLiveError

BAR = 0.05  # issue 29: at most 5 % of the windows of outside footage may name a gesture at ≥ 80 %
FITS = ("both", "pool", "crop")
SUFFIXES = (".raw", ".dat", ".aedat", ".aedat4", ".npy", ".bin", ".bs2")


def footage_files(paths) -> list[Path]:
    """The event files named by ``paths``: files as given, folders searched for files with a known event
    extension (sorted); one error naming a path that does not exist or a folder without any."""
    out = []
    for p in map(Path, paths):
        if p.is_dir():
            found = sorted(f for f in p.rglob("*") if f.is_file() and f.suffix.lower() in SUFFIXES)
            if not found:
                raise SastLiveError(f"{p}: a folder with no event file in it ({', '.join(SUFFIXES)})")
            out += found
        elif p.is_file():
            out.append(p)
        else:
            raise SastLiveError(f"{p}: no such file or folder")
    return out


def views(path: Path, fit: str, min_seconds: float, rng: np.random.Generator) -> list[tuple[str, np.ndarray, bool]]:
    """``[(view, events on 128×128 from t = 0, looped)]`` of one file (see the module docstring); an error naming
    the file when it cannot be read or holds no event."""
    from sast_live.formats.registry import open_events
    from training.data.real_scenes import SENSOR, centre_crop, to_128
    from training.evaluation.no_gesture import looped

    if fit not in FITS:
        raise SastLiveError(f"--fit must be one of {', '.join(FITS)}; got {fit!r}")
    reader = open_events(path)
    events = reader.read()
    if not len(events):
        raise SastLiveError(f"{path}: holds no events")
    sensor = reader.sensor_size
    large = sensor is not None and (sensor.width > SENSOR.width or sensor.height > SENSOR.height)
    picked = []
    if not large or fit in ("both", "pool"):
        picked.append(("pooled" if large else "as recorded", to_128(events, sensor)))
    if large and fit in ("both", "crop"):
        crop = centre_crop(events, sensor)
        picked.append(("centre crop", crop if crop is not None else events[:0]))
    out = []
    for name, ev in picked:
        if not len(ev):
            out.append((name, ev, False))  # e.g. a centre with nothing moving in it: no window, reported as such
            continue
        short = ev["t"][-1] < min_seconds * 1e6
        out.append((name, looped(ev, rng, min_seconds) if short else ev, bool(short)))
    return out


def footage_report(backend, paths, options, fit: str = "both", min_seconds: float = 4.0, seed: int = 0,
                   progress: bool = False) -> dict:
    """Every view of every file of ``paths`` streamed through the pipeline with ``options`` (a
    :class:`~sast_live.pipeline.options.PipelineOptions`): per view the tally of
    :func:`training.evaluation.no_gesture._tally` plus ``seconds`` and ``looped``; files that could not be read are
    listed under ``skipped`` with the reason; ``summary`` holds the windows, those naming a gesture at ≥ 80 %, their
    share against :data:`BAR`, and the share saying no gesture or unfamiliar scene."""
    from tqdm import tqdm

    from sast_live.pipeline.pipeline import stream_windows
    from training.evaluation.no_gesture import SENSOR, _tally, totals

    if not min_seconds > 0:
        raise SastLiveError(f"--min-seconds must be positive, got {min_seconds}")
    rng = np.random.default_rng(seed)
    files = footage_files(paths)
    per, skipped = {}, {}
    for path in tqdm(files, desc="replaying footage", unit="file", disable=not progress):
        try:
            picked = views(path, fit, min_seconds, rng)
        except SastLiveError as exc:
            skipped[str(path)] = str(exc)
            continue
        for name, ev, loop in picked:
            seconds = float(ev["t"][-1] - ev["t"][0]) / 1e6 if len(ev) else 0.0
            wins = stream_windows(backend, ev, SENSOR, options) if len(ev) else []
            per[f"{path}, {name}"] = {**_tally(wins, seconds, len(ev)), "seconds": seconds, "looped": loop}
    if not per:
        raise SastLiveError("no footage could be replayed: " + "; ".join(skipped.values()))
    t = totals(per.values())
    share = t["claims_at_80"] / t["windows"] if t["windows"] else None
    summary = {"files": len(files) - len(skipped), "views": len(per), **t, "share_at_80": share, "bar": BAR,
               "passes": share is not None and share <= BAR}
    return {"views": per, "skipped": skipped, "summary": summary}


def render_footage(report: dict) -> list[str]:
    """The report as markdown: one row per view, the files that were skipped, and the verdict."""
    lines = ["| footage | seconds | events/s | full windows | unfamiliar | claim a gesture | at ≥ 80 % | highest claim "
             "| what |", "|---|---|---|---|---|---|---|---|---|"]
    for name, r in report["views"].items():
        secs = f"{r['seconds']:.1f}" + (" (looped)" if r["looped"] else "")
        lines.append(f"| {name} | {secs} | {r['events_per_s']:,.0f} | {r['windows']} | {r['unfamiliar']} | "
                     f"{r['claims']} | {r['claims_at_80']} | {r['max_claim']:.2f} | {', '.join(r['claimed'])} |")
    for path, why in report["skipped"].items():
        lines.append(f"\nskipped {path}: {why}")
    s = report["summary"]
    if not s["windows"]:
        lines.append("\nNo view held a full window: nothing to judge (a recording shorter than one window, or an "
                     "empty centre crop).")
        return lines
    verdict = "within" if s["passes"] else "OVER"
    plural = lambda n, word: f"{n} {word}" + ("" if n == 1 else "s")  # noqa: E731
    lines.append(f"\n{plural(s['views'], 'view')} of {plural(s['files'], 'file')}: {s['windows']} full windows, "
                 f"{s['claims_at_80']} name a "
                 f"gesture at ≥ 80 % ({s['share_at_80']:.1%}; {verdict} issue 29's bar of {s['bar']:.0%}), "
                 f"{s['quiet_share']:.0%} say no gesture or unfamiliar scene.")
    return lines
