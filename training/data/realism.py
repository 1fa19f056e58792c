"""The realism report: synthetic recordings beside real ones, statistic by statistic
(:func:`sast_live.recording_stats.recording_stats`), as a table (markdown + JSON) and a PNG (per-pixel rate and
inter-event-interval histograms, and 40 ms of events of each recording).

    main.py data realism [FILE …] [--per-class N | --synthetic DIR] --out DIR

Real: the files given, else every recording of ``../shared/data/real`` (20 of its N-MNIST digits), each with the
sensor it was recorded on. Synthetic: ``--per-class`` gestures-v2 recordings of each class by the held-out test
subjects (rendered now, seeded) and as many synthetic N-MNIST digits, or the recordings of a dataset folder
(``--synthetic DIR``, e.g. one ``data synth`` wrote). What the review measured on real DVS128
footage that is not in the repository is quoted beside them (:data:`DVS128_REVIEW`), never mixed in.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from sast_live.errors import SastLiveError
from sast_live.events import sensor_or_extent
from sast_live.recording_stats import IEI_EDGES, RATE_EDGES, STATS, recording_stats

#: the sensor each shared real file was recorded with (../shared/data/real/SOURCES.md)
REAL_FILES = {"tonic/sample_ncars.dat": "ATIS (N-CARS)", "expelliarmus/NCARS_obj_004397_td.dat": "ATIS (N-CARS)",
              "tonic/sample_nmnist.bin": "ATIS (N-MNIST)", "expelliarmus/sparklers.raw": "Prophesee Gen3",
              "expelliarmus/evt2_sample.raw": "Prophesee Gen3", "expelliarmus/evt3_sample.raw": "Prophesee Gen4",
              "expelliarmus/evt3_test_pedestrians.raw": "Prophesee Gen4", "tonic/sample.aedat4": "DVXplorer"}
#: what issue 29's review measured on public DVS128 recordings of people (not in the repository)
DVS128_REVIEW = {"on_off": (0.81, 0.90), "share_90": (0.12, 0.13), "pixels_ge_1hz": (0.07, 0.21)}


def real_recordings(shared: Path, files=None, nmnist: int = 20) -> list[tuple[str, str, np.ndarray, tuple]]:
    """``(name, sensor kind, events, sensor size)`` of the real files (default: the shared ones)."""
    from sast_live.formats.registry import open_events

    if files:
        chosen = [(Path(f), "given") for f in files]
    else:
        chosen = [(shared / rel, kind) for rel, kind in REAL_FILES.items() if (shared / rel).is_file()]
        digits = sorted((shared / "slayer-nmnist" / "NMNISTsmall").glob("*.bs2"))[:nmnist]
        chosen += [(p, "ATIS (N-MNIST)") for p in digits]
    out = []
    for path, kind in chosen:
        reader = open_events(path)
        events = reader.read()
        if len(events) < 2:
            raise SastLiveError(f"{path}: {len(events)} event(s): nothing to measure")
        out.append((path.name, kind, events, tuple(sensor_or_extent(reader.sensor_size, events))))
    return out


def dataset_recordings(folder, limit: int | None = None) -> list[tuple[str, str, np.ndarray, tuple]]:
    """The test split (else the train split) of a dataset folder, e.g. one ``data synth`` wrote."""
    from training.data.datasets import open_dataset

    try:
        ds = open_dataset(folder, "test")
    except SastLiveError:
        ds = open_dataset(folder, "train")
    n = len(ds) if limit is None else min(limit, len(ds))
    return [(f"{ds.classes[ds.labels[i]]} #{i}", f"dataset {Path(folder).name}", ds[i][0], tuple(ds.sensor_size))
            for i in range(n)]


def synthetic_recordings(per_class: int, seed: int = 0) -> list[tuple[str, str, np.ndarray, tuple]]:
    """gestures-v2 recordings of the held-out test subjects (``per_class`` of each class) and as many synthetic
    N-MNIST digits, rendered now."""
    from sast_live.synthetic import people
    from sast_live.synthetic.nmnist import make_sample as nmnist_sample
    from training.data.synth import person_and_light

    out = []
    for c in range(len(people.CLASSES)):
        for i in range(per_class):
            sid, light = person_and_light("test", c, i)
            ev = people.make_sample(c, seed * 1000 + 37 * c + i, people.subject(sid), light)
            out.append((f"{people.CLASSES[c]} #{i} ({light})", "synthetic gestures-v2", ev, people.SENSOR))
    for i in range(per_class):
        ev = nmnist_sample(i % 10, i, seed * 1000 + i)
        out.append((f"digit {i % 10}", "synthetic N-MNIST", ev, (34, 34)))
    return out


def realism_report(real, synthetic) -> dict:
    """Per recording its statistics; per sensor kind the range of each statistic."""
    rows = [{"name": n, "kind": k, "sensor": list(s), **recording_stats(ev, s)} for n, k, ev, s in [*real, *synthetic]]
    kinds = {}
    for r in rows:
        kinds.setdefault(r["kind"], []).append(r)
    ranges = {k: {s: [min(r[s] for r in rs if r[s] is not None), max(r[s] for r in rs if r[s] is not None)]
                  for s in STATS} for k, rs in kinds.items()}
    return {"recordings": rows, "ranges": ranges, "dvs128_review": DVS128_REVIEW}


def render_realism(report: dict) -> str:
    head = ["kind", "recordings", *STATS]
    lines = ["# Realism: synthetic recordings beside real ones", "",
             "Ranges over the recordings of each kind (min – max). events_per_s: events per second; on_off: ON per "
             "OFF event; occupancy: share of pixels with an event; share_90: share of the pixels holding 90 % "
             "of the events; pixels_ge_1hz: share of pixels at ≥ 1 Hz (the occupancy, for a clip under a second); "
             "median_iei_ms: median interval between two events of a pixel; supported: share of events with a "
             "neighbour event within 5 ms; ba_hz: the others per pixel per second (an upper bound of the background "
             "activity).", "",
             "| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    counts = {}
    for r in report["recordings"]:
        counts[r["kind"]] = counts.get(r["kind"], 0) + 1
    for kind, rg in report["ranges"].items():
        cells = [f"{lo:,.3g} – {hi:,.3g}" for lo, hi in (rg[s] for s in STATS)]
        lines.append(f"| {kind} | {counts[kind]} | " + " | ".join(cells) + " |")
    rv = report["dvs128_review"]
    lines += ["", "Real DVS128 recordings of people (measured by the review, not in the repository): on_off "
              f"{rv['on_off'][0]}–{rv['on_off'][1]}, share_90 {rv['share_90'][0]}–{rv['share_90'][1]}, pixels_ge_1hz "
              f"{rv['pixels_ge_1hz'][0]}–{rv['pixels_ge_1hz'][1]}.", "", "![realism](realism.png)", ""]
    return "\n".join(lines)


def plot_realism(report: dict, frames, path: Path) -> None:
    """Histograms per kind (per-pixel rate, inter-event interval) and 40 ms of events of up to 8 recordings."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig = plt.figure(figsize=(14, 5.5))
    ax_rate, ax_iei = fig.add_subplot(2, 2, 1), fig.add_subplot(2, 2, 2)
    for kind in report["ranges"]:
        rs = [r for r in report["recordings"] if r["kind"] == kind]
        style = "--" if kind.startswith("synthetic") else "-"
        ax_rate.plot(np.sqrt(RATE_EDGES[1:] * RATE_EDGES[:-1]), np.mean([r["rate_hist"] for r in rs], 0), style,
                     label=kind)
        ax_iei.plot(np.sqrt(IEI_EDGES[1:] * IEI_EDGES[:-1]), np.mean([r["iei_hist"] for r in rs], 0), style,
                    label=kind)
    for ax, title in ((ax_rate, "per-pixel rate (Hz), share of active pixels"),
                      (ax_iei, "interval between a pixel's events (ms), share")):
        ax.set_xscale("log")
        ax.set_title(title, fontsize=9)
    ax_rate.legend(fontsize=7)
    for k, (name, img) in enumerate(frames[:8]):
        ax = fig.add_subplot(2, 8, 9 + k)
        ax.imshow(img, cmap="coolwarm", vmin=-3, vmax=3, interpolation="nearest")
        ax.set_title(name[:22], fontsize=6)
        ax.axis("off")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def event_frame(events: np.ndarray, sensor, span_us: int = 40_000) -> np.ndarray:
    """ON − OFF events of the 40 ms in the middle of a recording, (H, W)."""
    from sast_live.transforms.event_image import accumulate

    mid = int(events["t"][len(events) // 2])
    return accumulate([events[events["t"] <= mid + span_us // 2]], sensor[0], sensor[1], span_us)


def write_realism(out: Path, real, synthetic) -> dict:
    out.mkdir(parents=True, exist_ok=True)
    report = realism_report(real, synthetic)
    (out / "realism.json").write_text(json.dumps(report, indent=2))
    picks = real[:4] + synthetic[:4]
    plot_realism(report, [(n, event_frame(ev, s)) for n, _, ev, s in picks], out / "realism.png")
    (out / "realism.md").write_text(render_realism(report))
    return report
