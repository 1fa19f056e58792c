"""One table: CVX vs SG vs SG-CVX vs SG fine-tuned from CVX (and, on event data, SAST and its reconstruction).

Sequence tasks: the parallel LIF network trained with surrogate gradients (SG), reconstructed from Gaussian
witnesses (CVX), reconstructed from the SG network's hidden weights (SG-CVX), and the CVX network fine-tuned
with SG for as many epochs as the SG baseline had (the paper's hybrid); all evaluated with hard spikes, the
addition tasks also at 2×/5×/10× the training length.

Event datasets: the same four plus SAST and SAST-CVX (SAST's hidden weights as the witness), each evaluated by
:func:`training.evaluation.report.evaluate` with the INT8 simulator and rendered as the training reports' comparison
table (float surrogate, float hard, INT8 hard, SynOps).
"""

from __future__ import annotations

import json
from dataclasses import asdict, replace
from pathlib import Path

from firmware_sim.precisions import DEPLOYED
from sast_live.errors import SastLiveError
from training.convex.config import ReconConfig
from training.convex.reconstruct import reconstruct, sequence_memory
from training.convex.tasks import TASKS, is_task, task_spec


def compare_sequence(base: ReconConfig, epochs: int, lr: float, out: Path) -> list[dict]:
    from training.convex.sequence import run_sequence_sg

    sg = run_sequence_sg(replace(base, out=str(out / "sg")), epochs, lr)
    cvx = reconstruct(replace(base, method="cvx", out=str(out / "cvx"), finetune_epochs=epochs))
    sg_cvx = reconstruct(replace(base, method="sg-cvx", witness_from=sg["checkpoint"], out=str(out / "sg-cvx")))

    def row(name, acc, summary=None, kept=None):
        r = {"method": name, **acc}
        if summary:
            r.update(kept=summary["kept_branches"], features=summary["features"],
                     rel_gap=summary["final"]["rel_gap"], seconds=sum(summary["seconds"].values()))
        if kept is not None:  # the fine-tuned network: its start's branches, no certificate
            r.update(kept=kept, features=cvx["features"])
        return r

    hybrid = cvx["finetuned"]
    return [row("CVX", cvx["accuracy"], cvx), row("SG", sg["accuracy"]), row("SG-CVX", sg_cvx["accuracy"], sg_cvx),
            {**row(HYBRID, hybrid["accuracy"], kept=hybrid["start"]["kept_branches"]),
             "kept_epoch": hybrid["best_epoch"], "epochs": epochs}]


#: the hybrid's row (its kept epoch is a field of its own, so the rows of several seeds share a name)
HYBRID = "SG fine-tuned from CVX"


def _method_name(r: dict) -> str:
    return f"{r['method']} (epoch {r['kept_epoch']} of {r['epochs']} kept)" if "kept_epoch" in r else r["method"]


def _split_name(split: str) -> str:
    return "test" if split == "test" else f"{split[len('test_'):]} length"


def _accuracy_keys(row: dict) -> list[str]:
    """The accuracies a row's tables show per split: an autoregressive task's teacher-forced one beside it."""
    return ["accuracy"] + (["teacher_forced_accuracy"] if "teacher_forced_accuracy" in row["test"] else [])


def _accuracy_heads(row: dict, splits: list[str]) -> list[str]:
    names = {"accuracy": "acc", "teacher_forced_accuracy": "acc, teacher-forced"}
    if len(_accuracy_keys(row)) > 1:
        names["accuracy"] = "acc, autoregressive"
    return [f"{_split_name(s)} {names[k]}" for k in _accuracy_keys(row) for s in splits]


def render_sequence(rows: list[dict], title: str) -> str:
    splits = [k for k in rows[0] if k.startswith("test")]
    head = ["method"] + _accuracy_heads(rows[0], splits)
    per_step = "sequence_accuracy" in rows[0]["test"]
    if per_step:
        head += [f"{_split_name(s)}: sequences all right" for s in splits]
    head += ["neurons kept", "certificate (rel. gap)", "seconds (witness + dictionary + solve)"]
    lines = [f"# {title}", "", "| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in rows:
        cells = [_method_name(r)] + [f"{r[s][k]:.3f}" for k in _accuracy_keys(r) for s in splits]
        if per_step:
            cells += [f"{r[s]['sequence_accuracy']:.3f}" for s in splits]
        cells += [f"{r['kept']}/{r['features']}" if "kept" in r else "all",
                  f"{r['rel_gap']:.1e}" if "rel_gap" in r else "—", f"{r['seconds']:.0f}" if "seconds" in r else "—"]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def compare_events(base: ReconConfig, epochs: int, lr: float, rho: float, out: Path) -> list[dict]:
    from training.config import TrainConfig
    from training.evaluation.report import EvalConfig, evaluate
    from training.train import train

    def trained(method: str, name: str, **fields) -> str:
        cfg = TrainConfig(dataset=base.dataset, data_dir=base.data_dir, method=method, rho=rho, epochs=epochs, lr=lr,
                          seed=base.seed, out=str(out / name), limit_train=base.limit_train,
                          limit_test=base.limit_test, n_bins=base.n_bins, progress=base.progress, **fields)
        train(cfg)
        return str(out / name / "model")

    sast, sg = trained("sast", "sast"), trained("sg", "sg")
    cvx = reconstruct(replace(base, method="cvx", out=str(out / "cvx")))["checkpoint"]
    sg_cvx = reconstruct(replace(base, method="sg-cvx", witness_from=sg, out=str(out / "sg-cvx")))["checkpoint"]
    sast_cvx = reconstruct(replace(base, method="sg-cvx", witness_from=sast, out=str(out / "sast-cvx")))["checkpoint"]
    finetuned = trained("sg", "sg-from-cvx", init_from=cvx)
    reports = []
    for ckpt in (cvx, sg, sg_cvx, finetuned, sast, sast_cvx):
        cfg = EvalConfig(ckpt, dataset=base.dataset, data_dir=base.data_dir, out=str(Path(ckpt).parent / "eval"),
                         corruptions=(), limit_test=base.limit_test, seed=base.seed, progress=base.progress,
                         hardware=(DEPLOYED,))
        reports.append(evaluate(cfg))
    return reports


def _splits(row: dict) -> list[str]:
    return [k for k in row if k.startswith("test")]


def summarize_seeds(per_seed: list[list[dict]]) -> list[dict]:
    """One row per method over the seeds' tables (each :func:`compare_sequence`'s rows): the
    :func:`~training.metrics.interval` (mean, std, 95 % t-interval) of each split's accuracy (and, per step,
    sequence accuracy), the hybrid's kept epochs."""
    from training.metrics import interval

    out = []
    for i, first in enumerate(per_seed[0]):
        runs = [rows[i] for rows in per_seed]
        entry = {"method": first["method"], "seeds": len(runs)}
        for split in _splits(first):
            entry[split] = {k: interval([r[split][k] for r in runs]) for k in first[split]}
        if "kept_epoch" in first:
            entry["kept_epochs"] = [r["kept_epoch"] for r in runs]
            entry["epochs"] = first["epochs"]
        out.append(entry)
    return out


def render_seeds(summary: list[dict], title: str) -> str:
    """The table of :func:`summarize_seeds`: mean ± std (±95 % interval) per split."""
    from training.metrics import fmt

    splits = _splits(summary[0])
    per_step = "sequence_accuracy" in summary[0]["test"]
    head = ["method"] + _accuracy_heads(summary[0], splits)
    if per_step:
        head += [f"{_split_name(s)}: sequences all right" for s in splits]
    lines = [f"# {title}", "", "mean ± std over the seeds (± the half-width of the 95 % t-interval of the mean)", "",
             "| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for e in summary:
        name = e["method"] if "kept_epochs" not in e else \
            f"{e['method']} (epochs kept of {e['epochs']}: {', '.join(map(str, e['kept_epochs']))})"
        cells = [name] + [fmt(e[s][k]) for k in _accuracy_keys(e) for s in splits]
        if per_step:
            cells += [fmt(e[s]["sequence_accuracy"]) for s in splits]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def plot_seeds(summary: list[dict], path: Path, title: str) -> None:
    """Accuracy per split (groups) and method (bars), the 95 % interval as error bars."""
    import textwrap

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    splits = _splits(summary[0])
    x = np.arange(len(splits))
    width = 0.8 / len(summary)
    fig, ax = plt.subplots(figsize=(max(5.0, 1.6 + 1.5 * len(splits)), 4.0))
    for i, e in enumerate(summary):
        mean = [e[s]["accuracy"]["mean"] for s in splits]
        ci = [e[s]["accuracy"]["ci95"] or 0.0 for s in splits]
        ax.bar(x + (i - (len(summary) - 1) / 2) * width, mean, width, yerr=ci, capsize=3, label=e["method"])
    ax.set_xticks(x, [_split_name(s) for s in splits])
    autoregressive = len(_accuracy_keys(summary[0])) > 1
    ax.set_ylabel("sum-token accuracy, autoregressive (hard spikes)" if autoregressive else "accuracy (hard spikes)",
                  fontsize=8 if autoregressive else None)
    ax.set_ylim(0, 1)
    ax.set_title(textwrap.fill(title, 70), fontsize=8)
    ax.legend(fontsize=7, loc="lower left")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def compare_over_seeds(base: ReconConfig, epochs: int, lr: float, rho: float, out: str, seeds: int) -> str:
    """:func:`compare` for seeds ``base.seed`` … ``base.seed + seeds − 1`` (data, witnesses and SG's
    initialisation), each into ``out/seed-S``; then ``out/table.md`` (+ ``table.json``, ``table.png``) with each
    method's mean, std and 95 % interval over them. A seed that finished before in ``out`` with the same settings
    is read back, not run again. Sequence tasks only."""
    if seeds == 1:
        return compare(base, epochs, lr, rho, out)
    if seeds < 1:
        raise SastLiveError(f"--seeds must be at least 1, got {seeds}")
    if not is_task(base.dataset):
        raise SastLiveError(f"sweep --convex --seeds N runs the sequence tasks ({', '.join(TASKS)}); the "
                            "event-data comparison runs one seed at a time (--seed S)")
    out = Path(out)
    per_seed = [_seed_rows(replace(base, seed=seed), epochs, lr, rho, out / f"seed-{seed}")
                for seed in range(base.seed, base.seed + seeds)]
    summary = summarize_seeds(per_seed)
    title = (f"{_task_name(base)}: CVX vs SG vs SG-CVX vs SG fine-tuned from CVX (hard spikes, {epochs} SG epochs, "
             f"seeds {base.seed}–{base.seed + seeds - 1})")
    table = render_seeds(summary, title)
    (out / "table.json").write_text(json.dumps(summary, indent=2, default=float))
    (out / "table.md").write_text(table)
    plot_seeds(summary, out / "table.png", title)
    return table


def _task_name(base: ReconConfig) -> str:
    """A sequence task and its steps, as the tables and plots title it: "smnist-full, T 28"."""
    return f"{base.dataset}, T {task_spec(base.dataset, base.length).steps}"


def _settings(base: ReconConfig, epochs: int, lr: float) -> dict:
    """What decides one seed's rows: every field but where they are written and whether progress is shown."""
    return {**{k: v for k, v in asdict(base).items() if k not in ("out", "progress")}, "epochs": epochs, "lr": lr}


def _seed_rows(base: ReconConfig, epochs: int, lr: float, rho: float, out: Path) -> list[dict]:
    """One seed's rows for :func:`compare_over_seeds`: read back from ``out`` when a run with the same settings
    finished there (``settings.json`` is written last), so an interrupted sweep goes on from its first unfinished
    seed; run otherwise. A finished run with other settings, or one cut short, is never overwritten: the error
    says which."""
    asked = json.loads(json.dumps(_settings(base, epochs, lr)))  # tuples as JSON gives them back
    done = out / "settings.json"
    if done.exists() and (out / "table.json").exists():
        before = json.loads(done.read_text())
        if before == asked:
            print(f"seed {base.seed}: finished before with the same settings; its rows are read from {out}")
            return json.loads((out / "table.json").read_text())
        changed = sorted(k for k in asked.keys() | before.keys() if asked.get(k) != before.get(k))
        raise SastLiveError(f"{out} holds a seed {base.seed} run with other settings ({', '.join(changed)}); "
                            "choose another --out")
    if out.exists() and any(out.iterdir()):
        raise SastLiveError(f"{out} holds a seed {base.seed} run that did not finish; delete that folder to run the "
                            "seed again (the finished seeds beside it are kept)")
    rows = compare_rows(base, epochs, lr, rho, str(out))[0]
    done.write_text(json.dumps(asked, indent=2))
    return rows


def compare(base: ReconConfig, epochs: int, lr: float, rho: float, out: str) -> str:
    """Run every method into ``out`` and write ``out/table.md`` (+ ``table.json``); returns the table."""
    return compare_rows(base, epochs, lr, rho, out)[1]


def compare_rows(base: ReconConfig, epochs: int, lr: float, rho: float, out: str) -> tuple[list[dict], str]:
    """:func:`compare`'s work: ``(rows, table)``, both also written into ``out``."""
    from training.convex.shards import launched_world

    if launched_world() > 1:  # it trains SG and SAST networks in between: one process
        raise SastLiveError("compare runs in one process; torchrun several for `train --method cvx|sg-cvx` alone")
    out = Path(out)
    if is_task(base.dataset):  # SG runs first: a CVX (or its SG fine-tuning, the same network as SG's) this
        # machine cannot hold is refused before it, not after
        sequence_memory(replace(base, method="cvx", finetune_epochs=epochs))
    out.mkdir(parents=True, exist_ok=True)
    if is_task(base.dataset):
        rows = compare_sequence(base, epochs, lr, out)
        table = render_sequence(rows, f"{_task_name(base)}: CVX vs SG vs SG-CVX vs SG fine-tuned from CVX "
                                      f"(hard spikes, {epochs} SG epochs, seed {base.seed})")
    else:
        from training.evaluation.hardware import render_comparison

        rows = compare_events(base, epochs, lr, rho, out)
        table = (f"# {base.dataset}: reconstruction vs gradient training ({epochs} epochs, SAST rho {rho})\n\n"
                 "Rows: cvx, sg, sg-cvx (SG witness), sg fine-tuned from cvx, sast, sast-cvx (SAST witness; "
                 "method shows as sg-cvx).\n\n" + render_comparison(rows))
    (out / "table.json").write_text(json.dumps(rows, indent=2, default=float))
    (out / "table.md").write_text(table)
    return rows, table
