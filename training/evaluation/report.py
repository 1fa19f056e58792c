"""The evaluation report of a checkpoint: swap-only transfer, robustness, calibration, spikes and SynOps.

Writes ``report.md``, ``report.json`` and PNG plots (``reliability.png``, ``robustness.png``) into the
output folder. "Swap-only" means the same weights, tau, theta and reset, with only the spike function ``f``
changed from the training sigmoid to the Heaviside step.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
from tqdm import tqdm

from firmware_sim.energy import DEFAULT_PJ_PER_SYNOP, check_pj_per_synop
from firmware_sim.precisions import DEPLOYED
from models.checkpoint.files import checkpoint_paths
from models.checkpoint.weights import load_event_model
from models.decision import TAPERS, Decision, softmax
from sast_live.errors import SastLiveError
from sast_live.transforms.corruptions import CORRUPTIONS, corrupt
from training.data.frames import FrameCache
from training.decision.calibration import window_rates
from training.evaluation.breakdown import breakdown, confusion, decision_figures, plot_confusion
from training.metrics import expected_calibration_error, spike_stats

ZOO = Path(__file__).resolve().parents[2] / "models" / "zoo"
SPLITS = ("test", "validation")


@dataclass(frozen=True)
class EvalConfig:
    checkpoint: str
    dataset: str | None = None  # default: the dataset the checkpoint was trained on
    data_dir: str | None = None
    out: str | None = None  # default: <checkpoint folder>/eval
    corruptions: tuple[str, ...] = CORRUPTIONS
    severities: tuple[int, ...] = (1, 2, 3, 4, 5)
    limit_test: int | None = None
    seed: int = 0
    progress: bool = True
    hardware: tuple[str, ...] = ()  # integer precisions to simulate (firmware_sim.precisions.INTEGER)
    pj_per_synop: float = DEFAULT_PJ_PER_SYNOP
    live: bool = False  # the streaming pipeline on the demo and on no-gesture scenes (training.evaluation.no_gesture)
    grid: dict | None = None  # the robustness grid {axis: values} (training.evaluation.robustness); None: none
    # "test", or "validation": the recordings the checkpoint's training held out of its training split (the same
    # --validation share, the same subjects), to compare models or recipes without looking at the test set
    split: str = "test"

    def __post_init__(self):
        unknown = [c for c in self.corruptions if c not in CORRUPTIONS]
        if unknown:
            raise SastLiveError(f"unknown corruption(s) {unknown}; choose from {', '.join(CORRUPTIONS)}")
        if any(not 1 <= int(s) <= 5 for s in self.severities):
            raise SastLiveError(f"severities must be 1..5, got {list(self.severities)}")
        from firmware_sim.precisions import INTEGER, get_precision

        for name in self.hardware:
            get_precision(name, INTEGER)
        check_pj_per_synop(self.pj_per_synop)
        if self.split not in SPLITS:
            raise SastLiveError(f"--split must be one of {', '.join(SPLITS)}, got {self.split!r}")


def default_out(checkpoint) -> Path:
    """``<checkpoint folder>/eval``; for a shipped model (``models/zoo``), ``runs/eval/<name>`` instead, so a user or a
    test never overwrites the committed reports by accident (``make_zoo.sh`` passes ``--out`` to remake them)."""
    folder = checkpoint_paths(checkpoint)[0].parent
    if folder.resolve().is_relative_to(ZOO.resolve()):
        return Path("runs") / "eval" / folder.name
    return folder / "eval"


def evaluate_many(checkpoints: list[str], out: str | None = None, **fields) -> list[dict]:
    """:func:`evaluate` for each checkpoint (``fields`` are :class:`EvalConfig`'s); with several checkpoints and
    ``out``, each report goes to ``out/<checkpoint folder name>``."""
    names = [Path(c).with_suffix("").parent.name or Path(c).stem for c in checkpoints]
    if len(checkpoints) > 1 and out and len(set(names)) < len(names):
        raise SastLiveError(f"with several checkpoints, --out DIR holds one report per checkpoint folder name, "
                            f"but the names repeat: {names}")
    configs = [EvalConfig(c, out=str(Path(out) / name) if out and len(checkpoints) > 1 else out, **fields)
               for c, name in zip(checkpoints, names, strict=True)]  # every option is checked before any work
    return [evaluate(cfg) for cfg in configs]


def summary(report: dict) -> dict:
    """The figures ``main.py evaluate`` prints per checkpoint (one JSON line)."""
    out = {"checkpoint": report["checkpoint"], "report_dir": report["report_dir"], "accuracy": report["accuracy"],
           "ece_hard": report["calibration"]["hard"]["ece"],
           "synops_per_sample": report["spikes_hard"]["synops_per_sample"]}
    if "hardware" in report:
        out["hardware"] = {k: {"accuracy": v["accuracy"], "synops_per_sample": v["synops_per_sample"]}
                           for k, v in report["hardware"].items()}
    if "geometry" in report:
        from training.evaluation.robustness import grid_mean

        out["robustness_grid"] = {r["point"]: r["accuracy"] for r in report["geometry"]["points"]}
        out["robustness_grid_mean"] = grid_mean(report["geometry"])["mean"]
    return out


def evaluation_split(cfg: EvalConfig, train_cfg: dict, dataset: str):
    """The recordings ``cfg.split`` names: the test split (a folder that holds nothing else is enough), or the
    validation share of the training split that the checkpoint's training held out."""
    from training.data.resolve import resolve_split
    from training.data.validation import split_validation

    data_dir = cfg.data_dir or train_cfg.get("data_dir")
    if cfg.split == "test":
        return resolve_split(dataset, "test", data_dir, progress=cfg.progress)
    if not train_cfg.get("validation"):
        raise SastLiveError(f"{cfg.checkpoint} was trained without a validation split (--validation); evaluate it "
                            "on --split test")
    _, val, _ = split_validation(resolve_split(dataset, "train", data_dir, progress=cfg.progress),
                                 train_cfg["validation"])
    return val


def evaluate(cfg: EvalConfig) -> dict:
    from training.data.datasets import limit_dataset
    from training.inference import predict, predict_logits

    model, meta = load_event_model(cfg.checkpoint)
    mcfg = model.cfg
    train_cfg = meta.get("train_cfg", {})
    dataset = cfg.dataset or train_cfg.get("dataset", "nmnist-real")
    test_ds = evaluation_split(cfg, train_cfg, dataset)
    test_ds = limit_dataset(test_ds, cfg.limit_test)
    if tuple(mcfg.classes[:len(test_ds.classes)]) != tuple(test_ds.classes):
        raise SastLiveError(f"{cfg.checkpoint} has classes {list(mcfg.classes)}; the test set {dataset} has "
                            f"{list(test_ds.classes)} (they must be the model's first classes, in its order)")
    if len(test_ds) == 0:
        raise SastLiveError(f"{dataset} has no {cfg.split} recordings to evaluate on (a folder of takes holds every "
                            "4th take of a class out for testing: record at least 4 of each)")
    if getattr(test_ds, "sensor_size", None) is not None and tuple(test_ds.sensor_size) != tuple(mcfg.sensor_size):
        raise SastLiveError(f"{dataset} holds {test_ds.sensor_size[0]}x{test_ds.sensor_size[1]} recordings; "
                            f"{cfg.checkpoint} reads a {mcfg.sensor_size[0]}x{mcfg.sensor_size[1]} sensor")
    labels = np.asarray(test_ds.labels)
    cache = FrameCache(test_ds, mcfg, cfg.progress)
    report = {"checkpoint": str(cfg.checkpoint), "dataset": dataset, "split": cfg.split, "n_test": len(test_ds),
              "method": train_cfg.get("method"),
              "rho": train_cfg.get("rho") if train_cfg.get("method") == "sast" else None, "beta": mcfg.beta}
    decision = Decision.from_dict(meta.get("decision"), mcfg.classes)
    logits = {mode: predict_logits(model, cache, mode) for mode in ("surrogate", "hard")}
    probs = {mode: softmax(z) for mode, z in logits.items()}
    acc = {mode: float((p.argmax(1) == labels).mean()) for mode, p in probs.items()}
    report["accuracy"] = {"surrogate": acc["surrogate"], "hard": acc["hard"],
                          "transfer_gap": acc["surrogate"] - acc["hard"]}
    report["decision"] = decision.to_dict()
    report["calibration"] = {}
    for mode, z in logits.items():
        # the confidences the app shows: softmax(logits / T) with the model's fitted temperature
        ece, table = expected_calibration_error(decision.probabilities(z), labels)
        report["calibration"][mode] = {"ece": ece, "ece_uncalibrated": expected_calibration_error(probs[mode],
                                                                                                   labels)[0],
                                       "temperature": decision.temperature, "reliability": table}
    xs = [x for x, _ in cache.batches()]
    stats = [spike_stats(model, x, "hard") for x in xs]
    weights = [x.shape[1] for x in xs]
    report["spikes_hard"] = {
        "spike_rate": np.average([s["spike_rate"] for s in stats], axis=0, weights=weights).tolist(),
        "synops_per_layer": np.average([s["synops_per_layer"] for s in stats], axis=0, weights=weights).tolist(),
        "synops_per_sample": float(np.average([s["synops_per_sample"] for s in stats], weights=weights)),
    }
    outputs = {}  # per simulated precision: (predictions, logits)
    if cfg.hardware:
        from training.evaluation.hardware import evaluate_hardware

        report["hardware"], outputs = evaluate_hardware(cfg.checkpoint, cache.windows(), labels, cfg.hardware,
                                                        probs["hard"].argmax(1), cfg.pj_per_synop, cfg.progress)
    preds = {"hard": probs["hard"].argmax(1)}
    rates = window_rates(cache)  # the input-statistics half of "unfamiliar scene"
    decided = {"hard": decision.decide_many(logits["hard"], rates)[0]}
    for name, (pred, hw_logits, channels, cells) in outputs.items():  # the integer rows: the feature check too
        preds[name] = pred
        decided[name] = decision.decide_many(hw_logits, rates, channels, cells)[0]
    report["breakdown"] = breakdown(preds, labels, mcfg.classes, test_ds.recordings)
    report["decision_effect"] = {name: decision_figures(d, labels, decision.reject_class)
                                 for name, d in decided.items()}
    confusions = {name: confusion(p, labels, len(mcfg.classes)) for name, p in preds.items()}
    report["confusion"] = {name: m.tolist() for name, m in confusions.items()}
    robustness = {}
    jobs = [(k, s) for k in cfg.corruptions for s in cfg.severities]
    for kind, sev in tqdm(jobs, desc="corruptions", disable=not cfg.progress):
        ccache = FrameCache(test_ds, mcfg, transform=lambda ev, i, kind=kind, sev=sev: corrupt(
            ev, kind, sev, mcfg.sensor_size, cfg.seed + i))
        robustness.setdefault(kind, {})[str(sev)] = {
            mode: float((predict(model, ccache, mode).argmax(1) == labels).mean()) for mode in ("surrogate", "hard")
        }
    report["robustness"] = robustness
    if cfg.grid is not None:  # the test recordings moved, resized, turned, re-timed: at the deployed precision
        from training.evaluation.robustness import robustness_report

        report["geometry"] = robustness_report(cfg.checkpoint, test_ds, mcfg, cfg.grid, seed=cfg.seed,
                                               progress=cfg.progress, split=cfg.split)
    if cfg.live:
        report["live"] = live_report(cfg.checkpoint, mcfg, cfg.seed, cfg.split, test_ds, cfg.progress)
    out = Path(cfg.out) if cfg.out else default_out(cfg.checkpoint)
    out.mkdir(parents=True, exist_ok=True)
    report["report_dir"] = str(out)
    (out / "report.json").write_text(json.dumps(report, indent=2))
    _plots(report, out)
    shown = next(n for n in (DEPLOYED, *preds) if n in preds)  # the deployed precision where it was simulated
    plot_confusion(confusions[shown], mcfg.classes, f"{Path(cfg.checkpoint).parent.name}: {shown}, "
                   f"{len(labels)} test samples", out / "confusion.png")
    if "geometry" in report:
        from training.evaluation.robustness import plot_robustness

        plot_robustness(report["geometry"], out / "robustness-grid.png")
    (out / "report.md").write_text(render_markdown(report))
    return report


def live_report(checkpoint, mcfg, seed: int, split: str = "test", dataset=None, progress: bool = False) -> dict:
    """The streaming INT8 pipeline scored on the bundled demo (a 128×128 gesture model only), on scenes with
    no gesture and on ``dataset``'s own no-gesture recordings, streamed whole. On the validation ``split`` the
    demo (a test subject) and the held-out real scenes are left out: what a model may be chosen on never sees
    them."""
    from firmware_sim.precisions import PRECISIONS
    from sast_live.formats.dvs_gesture import labels_path_for, read_gesture_labels
    from sast_live.formats.registry import read_events
    from sast_live.pipeline import load_backend
    from sast_live.pipeline.options import PipelineOptions
    from sast_live.pipeline.pipeline import stream_windows
    from sast_live.scoring import score_recording
    from sast_live.sources import DEMO
    from training.data.resolve import shared_data
    from training.evaluation.no_gesture import no_gesture_report, streamed_no_gesture

    if tuple(mcfg.sensor_size) != (128, 128):
        raise SastLiveError("--live scores gesture models (128×128); this model is "
                            f"{mcfg.sensor_size[0]}×{mcfg.sensor_size[1]}")
    backend = load_backend(checkpoint, PRECISIONS[DEPLOYED])
    bin_ms = backend.bin_cfg.bin_us / 1000
    app = PipelineOptions()  # the live app's defaults: hop, window, taper
    hop, window, taper = app.hop_bins(backend), app.window_bins(backend) or backend.n_bins, app.taper_for(backend)
    validation = split == "validation"
    common = {"precision": DEPLOYED, "hop_ms": hop * bin_ms, "window_ms": window * bin_ms, "taper": taper,
              "streamed": streamed_no_gesture(backend, dataset, app, progress) if dataset is not None else {},
              "no_gesture": no_gesture_report(backend, shared_data(), app, seed, held_out=not validation)}
    if validation:
        return {**common, "demo": None, "demo_variants": {}}
    events, labels = read_events(DEMO), read_gesture_labels(labels_path_for(DEMO))
    sensor = backend.bin_cfg.sensor_size
    demo = score_recording(stream_windows(backend, events, sensor, app), labels, backend.classes)
    variants = {}  # the trade-offs of other streaming settings (--window-ms, --taper): sooner, or steadier
    for k in (2, 3, backend.n_bins // hop):
        for other in TAPERS:
            o = replace(app, window_ms=k * app.hop_ms, taper=other)
            if (o.window_bins(backend), other) == (window, taper) or o.window_bins(backend) > backend.n_bins:
                continue
            s = score_recording(stream_windows(backend, events, sensor, o), labels, backend.classes)
            variants[f"{o.window_ms} ms, {other}"] = {key: s[key] for key in (
                "gestures_with_majority", "n_gestures", "median_latency_s", "missed", "pause_no_gesture")}
    return {**common, "demo": demo, "demo_variants": variants}


def _plots(report: dict, out: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(4.5, 4.5))
    ax.plot([0, 1], [0, 1], "k--", lw=1, label="perfect")
    for mode, colour in (("surrogate", "tab:blue"), ("hard", "tab:red")):
        t = report["calibration"][mode]["reliability"]
        pts = [(c, a) for c, a in zip(t["confidence"], t["accuracy"], strict=True) if c is not None]
        if pts:
            ax.plot(*zip(*pts, strict=True), "o-", color=colour,
                    label=f"{mode} (ECE {report['calibration'][mode]['ece']:.3f})")
    ax.set(xlabel="confidence", ylabel="accuracy", title="reliability", xlim=(0, 1), ylim=(0, 1))
    ax.legend()
    fig.tight_layout()
    fig.savefig(out / "reliability.png", dpi=100)
    plt.close(fig)
    if report["robustness"]:
        fig, axes = plt.subplots(1, 2, figsize=(10, 4), sharey=True)
        for ax, mode in zip(axes, ("surrogate", "hard"), strict=True):
            for kind, per_sev in report["robustness"].items():
                sev = sorted(per_sev, key=int)
                ax.plot([0] + [int(s) for s in sev], [report["accuracy"][mode]] + [per_sev[s][mode] for s in sev],
                        "o-", label=kind)
            ax.set(title=f"{mode} spikes", xlabel="severity", ylabel="accuracy", ylim=(0, 1))
        axes[0].legend(fontsize=8)
        fig.tight_layout()
        fig.savefig(out / "robustness.png", dpi=100)
        plt.close(fig)


def render_markdown(r: dict) -> str:
    a = r["accuracy"]
    lines = [f"# Evaluation of `{r['checkpoint']}`", "",
             f"Dataset `{r['dataset']}` ({r['n_test']} {r.get('split', 'test')} samples); method `{r['method']}`, "
             f"rho {r['rho']}, beta {r['beta']}.", "",
             "| surrogate accuracy | hard-spike accuracy (swap only) | transfer gap |", "|---|---|---|",
             f"| {a['surrogate']:.3f} | {a['hard']:.3f} | {a['transfer_gap']:+.3f} |", "",
             "## Calibration", "", f"Confidences are softmax(logits / T), T = {r['decision']['temperature']:.3f} "
             f"(fitted on: {r['decision']['fitted_on'] or 'nothing; T = 1'}).", "",
             "| spikes | ECE | ECE without T |", "|---|---|---|"]
    lines += [f"| {m} | {r['calibration'][m]['ece']:.4f} | {r['calibration'][m]['ece_uncalibrated']:.4f} |"
              for m in ("surrogate", "hard")]
    lines += ["", "![reliability](reliability.png)", "", "## Spikes (hard) and SynOps (float model)", "",
              "| layer | spike rate (per neuron per step) |", "|---|---|"]
    lines += [f"| {k + 1} | {v:.4f} |" for k, v in enumerate(r["spikes_hard"]["spike_rate"])]
    per_layer = ", ".join(f"{v:,.0f}" for v in r["spikes_hard"]["synops_per_layer"])
    lines += ["", f"SynOps per sample: {r['spikes_hard']['synops_per_sample']:,.0f} "
              f"(per layer, input events first: {per_layer})", ""]
    if r.get("hardware"):
        from training.evaluation.hardware import render_hardware_markdown

        lines += render_hardware_markdown(r["hardware"])
    lines += render_breakdown(r)
    if r.get("geometry"):
        from training.evaluation.robustness import render_robustness

        lines += ["## Robustness grid (geometry and tempo)", ""] + render_robustness(r["geometry"]) + \
            ["", "![robustness grid](robustness-grid.png)", ""]
    if r.get("live"):
        lines += render_live(r)
    if r["robustness"]:
        sevs = sorted({s for per in r["robustness"].values() for s in per}, key=int)
        lines += ["## Corruption robustness (accuracy: surrogate / hard)", "",
                  "| corruption | " + " | ".join(f"sev {s}" for s in sevs) + " |",
                  "|---|" + "---|" * len(sevs)]
        for kind, per in r["robustness"].items():
            lines.append(f"| {kind} | " + " | ".join(
                f"{per[s]['surrogate']:.2f} / {per[s]['hard']:.2f}" if s in per else "" for s in sevs) + " |")
        lines += ["", "![robustness](robustness.png)", ""]
    return "\n".join(lines)


def render_breakdown(r: dict) -> list[str]:
    """Per subject, lighting and class; what the decision rule does; the confusion matrix."""
    b = r.get("breakdown")
    if not b:
        return []
    names = list(b)
    lines = ["## Where it is right and wrong", ""]
    for key, title in (("by_subject", "test subject"), ("by_lighting", "lighting"), ("by_class", "class")):
        groups = b[names[0]].get(key)
        if not groups:
            continue
        lines += [f"| {title} | n | " + " | ".join(f"{n} accuracy" for n in names) + " |",
                  "|---|---|" + "---|" * len(names)]
        lines += [f"| {g} | {groups[g]['n']} | " + " | ".join(f"{b[n][key][g]['accuracy']:.3f}" for n in names) +
                  " |" for g in groups]
        lines.append("")
    for n in names:
        if "subject_spread" in b[n]:
            s = b[n]["subject_spread"]
            lines.append(f"- {n}: per-subject accuracy {s['min']:.3f}–{s['max']:.3f} (std {s['std']:.3f})")
    d = r["decision"]
    lines += ["", f"Decision rule: no gesture when the top class is "
              f"{'class ' + str(d['reject_class']) if d['reject_class'] is not None else '(no reject class)'} "
              f"or its calibrated confidence is below {d['min_confidence']:.3f}; "
              + (f"unfamiliar scene instead of a gesture when the energy is above {d['max_energy']:.3f}"
                 if d.get("max_energy") is not None else "no unfamiliar-scene test (an older model)")
              + (f" or the events/s are outside {d['event_rate'][0]:,.0f}–{d['event_rate'][1]:,.0f}"
                 if d.get("event_rate") else "")
              + (f" or the last layer's activity is further than {d['familiar']['max_distance']:,.1f} (squared "
                 "Mahalanobis) from every class's (the integer rows; the float hard row is not checked on it)"
                 if d.get("familiar") else "") + ".", "",
              "| precision | accuracy with the rule | gestures turned into 'no gesture' | gestures called "
              "'unfamiliar scene' | no-gesture samples recognised |", "|---|---|---|---|---|"]
    for n, e in r["decision_effect"].items():
        recall = e.get("no_gesture_recall")
        lines.append(f"| {n} | {e['accuracy']:.3f} | {e['gestures_rejected']:.3f} | "
                     f"{e.get('gestures_unfamiliar', 0.0):.3f} | {'' if recall is None else f'{recall:.3f}'} |")
    return lines + ["", "![confusion](confusion.png)", ""]


def render_live(r: dict) -> list[str]:
    """The report's "Live" section: the split's no-gesture recordings streamed, the demo, the no-gesture scenes."""
    from sast_live.scoring import latency_text
    from training.evaluation.no_gesture import render_no_gesture, render_streamed

    live, d = r["live"], r["live"]["demo"]
    lines = [f"## Live (streaming {live['precision']}, a prediction every {live['hop_ms']:.0f} ms over the last "
             f"{live['window_ms']:.0f} ms, {live.get('taper', 'flat')} taper: the app's defaults)", ""]
    if live.get("streamed"):
        lines += [f"The {r.get('split', 'test')} split's no-gesture recordings, each streamed whole (not looped):",
                  ""] + render_streamed(live["streamed"]) + [""]
    if d is None:
        lines += ["(A validation report leaves out the demo, a test subject, and the held-out real scenes.)", ""]
    else:
        lines += [f"The bundled demo: the majority of full windows inside a gesture name it in "
                  f"{d['gestures_with_majority']}/{d['n_gestures']} gestures; median latency from a gesture's start to "
                  f"a correct prediction that holds for two windows {latency_text(d['median_latency_s'])} "
                  f"({d['missed']} missed); in the pause {d['pause_no_gesture'] or 0:.0%} of the windows say "
                  "'no gesture'.", "",
                  "| gesture | windows inside | naming it | latency s |", "|---|---|---|---|"]
        for g in d["gestures"]:
            latency = "missed" if g["latency_s"] is None else f"{g['latency_s']:.2f}"
            lines.append(f"| {g['name']} | {g['windows']} | {g['correct']} | {latency} |")
        if live.get("demo_variants"):
            lines += ["", "Other streaming settings (`--window-ms`, `--taper`) on the demo:", "",
                      "| window, taper | gestures with a right majority | median latency s | pause windows saying no "
                      "gesture |", "|---|---|---|---|"]
            for name, w in live["demo_variants"].items():
                lines.append(f"| {name} | {w['gestures_with_majority']}/{w['n_gestures']} | "
                             f"{latency_text(w['median_latency_s'])} | {w['pause_no_gesture'] or 0:.0%} |")
        lines.append("")
    return lines + ["Scenes with no gesture (full windows):", ""] + render_no_gesture(live["no_gesture"]) + [""]
