"""rho sweep over seeds: train and evaluate SAST at each rho, the baseline and its controls, each with N seeds.

rho = 0 is the plain surrogate-forward baseline (``method="surrogate"``: SAM with rho 0 would only cost a
second pass). SAST computes two gradients per step, so the compute-matched control is the same baseline
trained for twice the epochs (the same number of gradient passes). Variants of SAST over the same rho grid:
``sast`` (ascent and descent on one minibatch), ``sast-2batch`` (the ascent from an independent second
minibatch), ``asam`` (adaptive SAM) and ``sast-dual`` (SAST on a loss over both the surrogate and the hard-spike
forward pass, :func:`training.train.loss_and_acc`, with its rho-0 control); ``--sg`` adds conventional
surrogate-gradient training (hard spikes forward) as a further control.

Every configuration runs with seeds ``seed … seed + N − 1``. Each run is evaluated on the test split:
surrogate and swap-only hard-spike accuracy, the transfer gap, the integer simulator at INT8 and INT4, SynOps per
sample (hard spikes), median seconds per epoch; and, with ``extra_test``, hard and INT8 accuracy on a second test
set (e.g. 1,000 synthetic N-MNIST digits beside the 100 real ones, for tighter intervals). The table gives each
figure as mean ± std with a 95 % t-interval of the mean, and each configuration's paired difference from the
baseline run with the same seed (mean and 95 % interval of the per-seed differences). Nothing is selected on the
test sets: every figure is the last epoch's model.
"""

from __future__ import annotations

import json
import re
from dataclasses import replace
from pathlib import Path

import numpy as np

from training.config import TrainConfig
from training.metrics import fmt, interval
from training.train import train

VARIANTS = {"sast": {}, "sast-2batch": {"second_batch": True}, "asam": {"adaptive": True},
            "sast-dual": {"hard_loss": 0.5}}
#: the rho-0 control of a variant that changes more than SAM (its extra loss without the ascent)
CONTROLS = {"sast-dual": ("surrogate + hard loss", {"hard_loss": 0.5})}
#: what each run reports (``extra_*`` only with a second test set)
METRICS = ("surrogate", "hard", "gap", "int8", "int4", "synops", "epoch_seconds", "extra_hard", "extra_int8")
#: the differences from the baseline worth a paired interval
PAIRED = ("hard", "gap", "int8", "int4", "extra_hard", "extra_int8")


def configurations(base: TrainConfig, rhos, variants=("sast",), compute_matched: bool = True, sg: bool = False
                   ) -> list[tuple[str, TrainConfig]]:
    """``(name, config)`` of every configuration, the baseline first (``out`` not yet per seed)."""
    unknown = [v for v in variants if v not in VARIANTS]
    if unknown:
        from sast_live.errors import SastLiveError

        raise SastLiveError(f"unknown SAST variant(s) {unknown}; choose from {', '.join(VARIANTS)}")
    runs = [("baseline", replace(base, method="surrogate", rho=0.0))]
    if compute_matched:
        runs.append(("baseline 2x epochs (compute-matched)",
                     replace(base, method="surrogate", rho=0.0, epochs=2 * base.epochs)))
    if sg:
        runs.append(("conventional SG", replace(base, method="sg", rho=0.0)))
    for variant in variants:
        if variant in CONTROLS:
            name, fields = CONTROLS[variant]
            runs.append((name, replace(base, method="surrogate", rho=0.0, **fields)))
        runs += [(f"{variant} rho={r:g}", replace(base, method="sast", rho=r, **VARIANTS[variant]))
                 for r in rhos if r > 0]
    return runs


def folder_name(name: str) -> str:
    """``sast rho=0.05`` → ``sast_rho0.05``, ``surrogate + hard loss`` → ``surrogate_hard_loss``."""
    return re.sub(r"[^A-Za-z0-9.-]+", "_", name.split(" (")[0].replace("=", ""))


def _report(checkpoint: str, cfg: TrainConfig, folder: str, precisions, dataset: str | None = None,
            data_dir: str | None = None, limit_test: int | None = None) -> dict:
    """``training.evaluation.report.evaluate`` of one run's checkpoint on a test set (no corruptions), written to
    ``folder`` beside the checkpoint."""
    from training.evaluation.report import EvalConfig, evaluate

    return evaluate(EvalConfig(checkpoint, dataset=dataset, data_dir=data_dir, out=str(Path(checkpoint).parent /
                               folder), corruptions=(), limit_test=limit_test, seed=cfg.seed, progress=cfg.progress,
                               hardware=tuple(precisions)))


def evaluate_run(checkpoint: str, cfg: TrainConfig, hardware, extra_test: str | None) -> dict:
    """The figures of one trained run (see the module docstring)."""
    r = _report(checkpoint, cfg, "eval", hardware, data_dir=cfg.data_dir, limit_test=cfg.limit_test)
    acc = r["accuracy"]
    out = {"surrogate": acc["surrogate"], "hard": acc["hard"], "gap": acc["transfer_gap"], "n_test": r["n_test"],
           "synops": r["spikes_hard"]["synops_per_sample"]}
    out.update({name: r["hardware"][name]["accuracy"] for name in hardware})
    if extra_test is not None:
        out.update(evaluate_extra(checkpoint, cfg, extra_test))
    return out


def evaluate_extra(checkpoint: str, cfg: TrainConfig, extra_test: str) -> dict:
    """Hard-spike and INT8 accuracy of one trained run on the second test set ``extra_test`` (a dataset name or
    folder), written to ``eval-extra/`` beside the checkpoint."""
    e = _report(checkpoint, cfg, "eval-extra", ("int8",), dataset=extra_test)
    return {"extra_hard": e["accuracy"]["hard"], "extra_int8": e["hardware"]["int8"]["accuracy"],
            "extra_n_test": e["n_test"], "extra_test": extra_test}


def run_sweep(base: TrainConfig, rhos: list[float], out: str, compute_matched: bool = True, seeds: int = 1,
              variants=("sast",), sg: bool = False, hardware=("int8", "int4"), extra_test: str | None = None,
              report_only: bool = False) -> dict:
    """Train and evaluate every configuration with ``seeds`` seeds; writes ``sweep.json`` (runs and summary),
    ``sweep.md`` and ``sweep.png`` into ``out`` and returns ``{"runs": [...], "summary": [...]}``. A run whose
    folder already holds ``result.json`` is not trained again (a sweep stopped half-way goes on where it was);
    ``report_only`` trains nothing and reports the runs that are there (a sweep under way, so far). With
    ``extra_test``, a finished run not yet evaluated on it is evaluated (not trained) and its ``result.json``
    updated: a second test set can be added to a study after its training."""
    from tqdm import tqdm

    if seeds < 1:
        from sast_live.errors import SastLiveError

        raise SastLiveError(f"--seeds must be at least 1, got {seeds}")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    jobs = [(name, replace(cfg, seed=base.seed + k, out=str(out / folder_name(name) / f"seed{base.seed + k}")))
            for name, cfg in configurations(base, rhos, variants, compute_matched, sg) for k in range(seeds)]
    rows = []
    for name, cfg in tqdm(jobs, desc="sweep runs", unit="run", disable=not base.progress):
        done = Path(cfg.out) / "result.json"
        if done.exists():
            row = json.loads(done.read_text())
            # a second test set added after training (or another one than the run was evaluated on)
            if extra_test is not None and ("extra_hard" not in row or row.get("extra_test", extra_test) != extra_test):
                row.update(evaluate_extra(row["checkpoint"], cfg, extra_test))
                done.write_text(json.dumps(row, indent=2))
            rows.append(row)
            continue
        if report_only:
            continue
        print(f"== {name}, seed {cfg.seed}", flush=True)
        train(cfg)
        hist = [json.loads(x) for x in (Path(cfg.out) / "metrics.jsonl").read_text().splitlines()]
        row = {"run": name, "method": cfg.method, "rho": cfg.rho, "seed": cfg.seed, "epochs": cfg.epochs,
               "second_batch": cfg.second_batch, "adaptive": cfg.adaptive, "hard_loss": cfg.hard_loss,
               # the median resists an epoch slowed by other work on the machine
               "epoch_seconds": float(np.median([h["epoch_seconds"] for h in hist])),
               "gradient_passes": sum(h["gradient_passes"] for h in hist),
               "checkpoint": str(Path(cfg.out) / "model")}
        row.update(evaluate_run(row["checkpoint"], cfg, hardware, extra_test))
        done.write_text(json.dumps(row, indent=2))
        rows.append(row)
    if not rows:
        from sast_live.errors import SastLiveError

        raise SastLiveError(f"{out} holds no finished run of these configurations yet")
    result = {"runs": rows, "summary": summarize(rows)}
    (out / "sweep.json").write_text(json.dumps(result, indent=2))
    (out / "sweep.md").write_text(render(result, base, seeds))
    plot(result["summary"], out / "sweep.png")
    return result


# -- statistics ------------------------------------------------------------------------------------------------
def summarize(rows: list[dict]) -> list[dict]:
    """Per configuration (in order of appearance): :func:`interval` of every metric over its seeds, and of the
    per-seed differences from the baseline run with the same seed (``paired``; seeds without a baseline run are
    left out)."""
    names = list(dict.fromkeys(r["run"] for r in rows))
    base = {r["seed"]: r for r in rows if r["run"] == "baseline"}
    out = []
    for name in names:
        runs = [r for r in rows if r["run"] == name]
        entry = {"run": name, "method": runs[0]["method"], "rho": runs[0]["rho"], "epochs": runs[0]["epochs"],
                 "seeds": [r["seed"] for r in runs]}
        for m in METRICS:
            vals = [r[m] for r in runs if r.get(m) is not None]
            if vals:
                entry[m] = interval(vals)
        if name != "baseline":
            entry["paired"] = {}
            for m in PAIRED:
                diffs = [r[m] - base[r["seed"]][m] for r in runs
                         if r.get(m) is not None and r["seed"] in base and base[r["seed"]].get(m) is not None]
                if diffs:
                    entry["paired"][m] = interval(diffs)
        out.append(entry)
    base_s = next((e["epoch_seconds"]["mean"] for e in out if e["run"] == "baseline" and "epoch_seconds" in e), None)
    for e in out:
        if base_s and "epoch_seconds" in e:
            e["time_ratio"] = e["epoch_seconds"]["mean"] / base_s
    return out


def render(result: dict, base: TrainConfig, seeds: int) -> str:
    summary = result["summary"]
    extra = any("extra_hard" in e for e in summary)
    n_test = result["runs"][0].get("n_test") if result["runs"] else None
    lines = [f"# rho sweep on `{base.dataset}` ({base.epochs} epochs, {seeds} seed{'s' if seeds > 1 else ''} from "
             f"{base.seed}, beta {base.beta if base.beta is not None else 'model default'}"
             + (f", channels {' '.join(map(str, base.channels))}" if base.channels else "") + ")", "",
             f"Each cell: mean ± std over the seeds (± half-width of the 95 % t-interval of the mean); test set: "
             f"{n_test} samples" + (f", second test set (`{result['runs'][0].get('extra_test', '?')}`, '2nd set' "
                                    f"below): {result['runs'][0].get('extra_n_test')} samples." if extra else "."), "",
             "| run | surrogate | hard (swap only) | gap | INT8 | INT4 | SynOps/sample (k) | s/epoch "
             "| time vs baseline |",
             "|---|---|---|---|---|---|---|---|---|"]
    for e in summary:
        lines.append(f"| {e['run']} | {fmt(e.get('surrogate'))} | {fmt(e.get('hard'))} | {fmt(e.get('gap'))} | "
                     f"{fmt(e.get('int8'))} | {fmt(e.get('int4'))} | {fmt(e.get('synops'), 1e-3, 1)} | "
                     f"{fmt(e.get('epoch_seconds'), 1, 1)} | {e.get('time_ratio', float('nan')):.2f}× |")
    lines += ["", "Paired with the baseline run of the same seed (mean difference, 95 % interval; an interval that "
              "excludes 0 is a difference these seeds resolve):", "",
              "| run | Δ hard | Δ gap | Δ INT8 | Δ INT4 |"
              + (" Δ hard (2nd set) | Δ INT8 (2nd set) |" if extra else ""),
              "|---|---|---|---|---|" + ("---|---|" if extra else "")]
    for e in summary[1:]:
        p = e.get("paired", {})
        cells = [_diff(p.get(m)) for m in ("hard", "gap", "int8", "int4")]
        if extra:
            cells += [_diff(p.get(m)) for m in ("extra_hard", "extra_int8")]
        lines.append(f"| {e['run']} | " + " | ".join(cells) + " |")
    if extra:
        lines += ["", "| run | hard (2nd set) | INT8 (2nd set) |", "|---|---|---|"]
        for e in summary:
            lines.append(f"| {e['run']} | {fmt(e.get('extra_hard'))} | {fmt(e.get('extra_int8'))} |")
    return "\n".join(lines + ["", "![sweep](sweep.png)", ""])


def _diff(s: dict | None) -> str:
    if not s or s.get("mean") is None:
        return "—"
    if s["ci95"] is None:
        return f"{s['mean']:+.3f}"
    lo, hi = s["mean"] - s["ci95"], s["mean"] + s["ci95"]
    return f"{s['mean']:+.3f} [{lo:+.3f}, {hi:+.3f}]"


def plot(summary: list[dict], path: Path) -> None:
    """Surrogate, hard and INT8 accuracy against rho per variant, with 95 % intervals; the controls as bands."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    def mean_ci(e, m):
        s = e.get(m) or {}
        return s.get("mean", np.nan) if s.get("mean") is not None else np.nan, s.get("ci95") or 0.0

    fig, axes = plt.subplots(1, 3, figsize=(14, 4), sharey=True)
    base = summary[0]
    for ax, m, title in zip(axes, ("surrogate", "hard", "int8"), ("surrogate forward", "hard spikes (swap only)",
                                                                     "INT8 simulator"), strict=True):
        for variant in VARIANTS:
            es = [e for e in summary if e["run"].startswith(f"{variant} rho=")]
            if not es:
                continue
            rhos = [0.0] + [e["rho"] for e in es]
            mc = [mean_ci(base, m)] + [mean_ci(e, m) for e in es]
            ax.errorbar(rhos, [x for x, _ in mc], yerr=[c for _, c in mc], marker="o", capsize=3, label=variant)
        for e in summary[1:]:
            if e["run"].split(" ")[0] not in VARIANTS:
                mean, ci = mean_ci(e, m)
                if not np.isnan(mean):
                    line = ax.axhline(mean, ls="--", lw=1, color="grey" if "2x" in e["run"] else "black")
                    ax.axhspan(mean - ci, mean + ci, alpha=0.1, color=line.get_color(), label=e["run"])
        ax.set(xlabel="rho", title=title, ylim=(0, 1))
        ax.grid(alpha=0.3)
    axes[0].set_ylabel("test accuracy (mean, 95 % interval)")
    if axes[-1].get_legend_handles_labels()[0]:  # a sweep of the baseline alone has nothing to label
        axes[-1].legend(fontsize=7, loc="lower right")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
