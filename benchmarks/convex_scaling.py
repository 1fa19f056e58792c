"""Where the convex reconstruction's time and memory go, and how they grow with the features P and the training
sequences n (issue 33): sequential MNIST at T 28 with count features, as the zoo's smnist runs.

    python benchmarks/convex_scaling.py [--branches 500 … 28000] [--n 875 1750 3500] [--steps 100]
                                        [--out runs/convex-scaling]

Each point (K branches of widths (4, 1), so P = K features; the first n of smnist's 3,500 fit digits, evenly over
the split) runs in a process of its own, so the peak resident memory it reports is its own. In it: the Gaussian
witness (calibrated on 256 digits), the dictionary (the network's hard-spike forward pass over the n digits, stored as
uint8 counts, handed to the solver as float64, as ``train --method cvx`` does), the Lipschitz estimate, then exactly
``--steps`` proximal-gradient steps at one beta (0.1 β_max; tolerance 0, so every point takes the same steps; the
certificate every 10 of them, as always). Reported per point: seconds of each part, seconds per solver step, the
peak RSS, and :func:`training.convex.memory.estimate`'s total for the same point (what a run is refused by); then the
exponents of power laws fitted to the per-step time and the dictionary time against n·P, a table (``scaling.md``),
``scaling.json`` and ``scaling.png``. Nothing is chosen here. About 14 min on 2 cores with the defaults.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
from apart import measure_apart

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

T = 28
WIDTHS = (4, 1)


def _measure(branches: int, n: int, steps: int) -> dict:
    import resource

    import torch

    from models.config import ParallelConfig
    from models.sequence_net import ParallelLIFNet
    from training.convex.dictionary import parallel_dictionary
    from training.convex.memory import estimate
    from training.convex.solvers import lipschitz, max_rho, solve
    from training.convex.tasks import split_sizes, task_data, task_spec
    from training.convex.witness import calibration_indices, gaussian_witness

    spec = task_spec("smnist", T)
    n_fit, _ = split_sizes(spec, sys.maxsize)
    if not 1 <= n <= n_fit:
        raise ValueError(f"n must be between 1 and smnist's {n_fit} fit digits, got {n}")
    x, y = task_data(spec, "train", n, 0)  # n of them, evenly over the split: every class, any n
    torch.manual_seed(0)
    t0 = time.perf_counter()
    cfg = ParallelConfig("smnist-parallel", spec.n_in, branches, WIDTHS, spec.n_classes, tau=0.9, features="count",
                         per_step=False, classes=spec.classes)
    model = ParallelLIFNet(cfg)
    gaussian_witness(model, torch.as_tensor(x[:, calibration_indices(x.shape[1], min(256, n))]), 0.1, 0)
    t1 = time.perf_counter()
    D = parallel_dictionary(model, x)
    F = D.floats()
    labels = torch.as_tensor(y)
    t2 = time.perf_counter()
    L = lipschitz(F, "ce")
    rho = 0.1 * max_rho(F, labels, spec.n_classes, "ce")
    t3 = time.perf_counter()
    sol = solve(F, labels, spec.n_classes, rho, "ce", tol=0.0, max_iter=steps, L0=L)
    t4 = time.perf_counter()
    est = estimate(spec.n_in, spec.n_classes, spec.steps, spec.per_step, branches, WIDTHS, "count", n, 0)
    return {"branches": branches, "features": branches * WIDTHS[-1], "n": n, "steps": sol.iterations,
            "witness_s": t1 - t0, "dictionary_s": t2 - t1, "lipschitz_s": t3 - t2, "solve_s": t4 - t3,
            "per_step_s": (t4 - t3) / max(1, sol.iterations), "dictionary_stored_mb": D.nbytes / 1e6,
            "dictionary_float_mb": F.element_size() * F.nelement() / 1e6,
            "peak_rss_gb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 / 1e9,
            "estimate_gb": est.total / 1e9, "estimate": est.describe(), "threads": torch.get_num_threads()}


def power_law(xs, ys) -> float:
    """The exponent a of ys ∝ xs^a (least squares in log–log)."""
    return float(np.polyfit(np.log(xs), np.log(ys), 1)[0])


def main(argv=None) -> int:
    from tqdm import tqdm

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--branches", type=int, nargs="+", default=[500, 1000, 2000, 4000, 7000, 14000, 28000])
    ap.add_argument("--n", type=int, nargs="+", default=[875, 1750, 3500])
    ap.add_argument("--steps", type=int, default=100, help="proximal-gradient steps timed at each point")
    ap.add_argument("--out", default="runs/convex-scaling")
    args = ap.parse_args(argv)
    if min(args.branches) < 1 or min(args.n) < 1 or args.steps < 10:
        ap.error("--branches and --n must be ≥ 1 and --steps ≥ 10")
    grid = [(k, n) for n in args.n for k in args.branches]
    rows = [measure_apart(_measure, (k, n, args.steps), {"branches": k, "n": n})
            for k, n in tqdm(grid, desc="scaling points")]
    ok = [r for r in rows if "error" not in r]
    fits = {}
    if len({r["n"] * r["features"] for r in ok}) >= 2:
        size = [r["n"] * r["features"] for r in ok]
        fits = {"per_step_vs_nP": power_law(size, [r["per_step_s"] for r in ok]),
                "dictionary_vs_nP": power_law(size, [r["dictionary_s"] for r in ok])}
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "scaling.json").write_text(json.dumps({"rows": rows, "fits": fits, "T": T, "widths": WIDTHS,
                                                  "steps": args.steps}, indent=2))
    lines = ["| P (branches) | n | witness s | dictionary s | Lipschitz s | s per solver step | dictionary stored / "
             "float64 MB | peak RSS GB | estimate GB |", "|---" * 9 + "|"]
    for r in rows:
        if "error" in r:
            lines.append(f"| {r['branches']:,} | {r['n']:,} | {r['error']} |||||||")
            continue
        lines.append(f"| {r['features']:,} | {r['n']:,} | {r['witness_s']:.2f} | {r['dictionary_s']:.2f} | "
                     f"{r['lipschitz_s']:.2f} | {r['per_step_s']:.4f} | {r['dictionary_stored_mb']:.1f} / "
                     f"{r['dictionary_float_mb']:.1f} | {r['peak_rss_gb']:.2f} | {r['estimate_gb']:.2f} |")
    if fits:
        lines += ["", f"Fitted: seconds per solver step ∝ (n·P)^{fits['per_step_vs_nP']:.2f}; dictionary seconds ∝ "
                      f"(n·P)^{fits['dictionary_vs_nP']:.2f} ({ok[0]['threads']} threads)."]
    (out / "scaling.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    _plot(ok, out / "scaling.png")
    return 0


def _plot(rows: list[dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 3, figsize=(14, 4))
    for n in sorted({r["n"] for r in rows}):
        rs = sorted((r for r in rows if r["n"] == n), key=lambda r: r["features"])
        p = [r["features"] for r in rs]
        axes[0].loglog(p, [r["per_step_s"] for r in rs], "o-", label=f"n {n:,}")
        axes[1].loglog(p, [r["dictionary_s"] for r in rs], "o-", label=f"n {n:,}")
        axes[2].plot(p, [r["peak_rss_gb"] for r in rs], "o-", label=f"measured, n {n:,}")
        axes[2].plot(p, [r["estimate_gb"] for r in rs], "x--", color=axes[2].lines[-1].get_color(),
                     label=f"estimate, n {n:,}")
    for ax, title in zip(axes, ("seconds per solver step", "dictionary seconds", "peak memory (GB)"), strict=True):
        ax.set_xlabel("features P")
        ax.set_title(title)
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=7)
    fig.suptitle(f"convex reconstruction, smnist T {T}, count features: time and memory against P and n")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


if __name__ == "__main__":
    raise SystemExit(main())
