"""One figure over several sweeps (``sweep.json``): hard-spike accuracy per configuration, one panel per sweep.

The multi-seed study (``models/zoo/study/``) is a handful of sweeps — one per beta, network and dataset. Each
sweep's own ``sweep.png`` plots accuracy against rho; this figure sets the sweeps side by side so that the
verdict (which configuration survives the swap to hard spikes, and by how much) is one look. Bars are the mean
swap-only hard-spike accuracy over the seeds with the 95 % t-interval of the mean; the black tick on each bar is
the same configuration's surrogate-forward accuracy (the gap between tick and bar is the transfer gap); the
dots are the single seeds.

    python main.py overview models/zoo/study/*/sweep.json --out models/zoo/study/overview.png
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np


def load(path: Path) -> tuple[str, list[dict], list[dict]]:
    """``(title, summary, runs)`` of one ``sweep.json``; the title is its folder's name."""
    try:
        result = json.loads(path.read_text())
        return path.parent.name, result["summary"], result["runs"]
    except (OSError, ValueError, KeyError) as e:
        from sast_live.errors import SastLiveError

        raise SastLiveError(f"{path}: not a sweep.json written by `main.py sweep` ({e})") from None


def colour(run: str) -> str:
    """Grey for the baselines, green for the hard-spike loss (with or without SAM), orange for conventional SG,
    blue for SAST and its variants."""
    if run.startswith("baseline"):
        return "0.6"
    if "hard loss" in run or run.startswith("sast-dual"):
        return "tab:green"
    return "tab:orange" if run == "conventional SG" else "tab:blue"


def plot(sweeps: list[tuple[str, list[dict], list[dict]]], out: Path) -> None:
    """Write the figure described in the module docstring to ``out`` (PNG)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    cols = min(2, len(sweeps))
    rows = -(-len(sweeps) // cols)
    most = max(len(summary) for _, summary, _ in sweeps)
    fig, axes = plt.subplots(rows, cols, figsize=(cols * (0.55 * most + 1.5), rows * 4.2), squeeze=False)
    for ax in axes.flat[len(sweeps):]:
        ax.set_visible(False)
    for ax, (title, summary, runs) in zip(axes.flat, sweeps, strict=False):
        x = np.arange(len(summary))
        mean = np.array([e["hard"]["mean"] for e in summary])
        ci = np.array([e["hard"].get("ci95") or 0.0 for e in summary])
        colours = [colour(e["run"]) for e in summary]
        ax.bar(x, mean, yerr=ci, capsize=3, color=colours, alpha=0.85)
        ax.scatter(x, [e["surrogate"]["mean"] for e in summary], marker="_", s=300, color="black", zorder=3,
                   label="surrogate forward (mean)")
        for i, e in enumerate(summary):
            seeds = [r["hard"] for r in runs if r["run"] == e["run"]]
            ax.scatter(np.full(len(seeds), i) + np.linspace(-0.15, 0.15, len(seeds)), seeds, s=9, color="black",
                       zorder=4)
        ax.set_xticks(x, [e["run"].replace(" (compute-matched)", "").replace("surrogate + ", "")
                          for e in summary], rotation=60, ha="right", fontsize=8)
        ax.set(title=title, ylim=(0, 1), xlim=(-0.6, most - 0.4), ylabel="hard-spike accuracy")
        ax.grid(axis="y", alpha=0.3)
    handles, labels = axes[0][0].get_legend_handles_labels()
    fig.legend(handles, labels, fontsize=8, loc="upper right")
    fig.suptitle("swap-only hard-spike test accuracy: mean over seeds with 95 % interval, seeds as dots, "
                 "surrogate-forward mean as a tick", fontsize=9)
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=100)
    plt.close(fig)
