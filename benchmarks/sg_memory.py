"""Surrogate-gradient training's memory on the parallel sequence network against its estimate (issue 33): what
:func:`training.convex.memory.sg_estimate` refuses a ``train --method sg`` or ``sweep --convex`` by.

    python benchmarks/sg_memory.py [--out runs/sg-memory]

Each point (branches K, widths, batch B, steps T, feature kind, per-step readout or not) runs in a process of its
own: it builds the network, runs three SG steps (Adam, cross-entropy, random binary inputs) and reports its peak
resident memory, beside ``sg_estimate``'s total for the same point. Then the peak's growth per neuron, step and
sequence (the slope between the points that differ only in K), which :data:`training.convex.memory.SG_SAVED_FLOATS`
must cover. Writes ``sg-memory.md`` and ``sg-memory.json``. About 1 min on 2 cores.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from apart import measure_apart

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

#: (branches, widths, batch, steps, features, per_step)
POINTS = [
    (1000, (4, 1), 128, 28, "count", False),
    (2000, (4, 1), 128, 28, "count", False),
    (4000, (4, 1), 128, 28, "count", False),
    (4000, (4, 1), 128, 28, "spike", False),
    (4000, (4, 1), 128, 28, "membrane", False),
    (4000, (4, 1), 128, 28, "count", True),
    (4000, (4, 1), 32, 28, "count", False),
    (4000, (4, 1), 128, 14, "count", False),
    (2000, (8, 1), 128, 28, "count", False),
    (1000, (4, 4), 128, 28, "count", False),
    (1000, (8, 4, 1), 128, 28, "count", False),
]


def _measure(branches: int, widths: tuple, batch: int, steps: int, features: str, per_step: bool) -> dict:
    import resource

    import torch

    from models.config import ParallelConfig
    from models.sequence_net import ParallelLIFNet
    from training.convex.memory import sg_estimate
    from training.convex.sequence import logits_loss

    torch.manual_seed(0)
    n_in = 28
    model = ParallelLIFNet(ParallelConfig("m", n_in, branches, widths, 10, features=features, per_step=per_step))
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    x = (torch.rand(steps, batch, n_in) < 0.3).float()
    y = torch.randint(0, 10, (steps, batch) if per_step else (batch,))
    for _ in range(3):
        loss = logits_loss(model, x, y, "sg")
        opt.zero_grad()
        loss.backward()
        opt.step()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    return {"branches": branches, "widths": list(widths), "batch": batch, "steps": steps, "features": features,
            "per_step": per_step, "neuron_steps": batch * steps * branches * sum(widths), "peak": peak,
            "estimate": sg_estimate(n_in, steps, branches, widths, batch).total}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", default="runs/sg-memory")
    args = ap.parse_args()
    rows = []
    for spec in POINTS:
        rows.append(measure_apart(_measure, spec, {"point": list(spec)}))
        print(rows[-1], flush=True)
    ok = [r for r in rows if "error" not in r]
    by_k = sorted((r for r in ok if r["widths"] == [4, 1] and r["batch"] == 128 and r["steps"] == 28
                   and r["features"] == "count" and not r["per_step"]), key=lambda r: r["branches"])
    slope = ((by_k[-1]["peak"] - by_k[0]["peak"]) / (by_k[-1]["neuron_steps"] - by_k[0]["neuron_steps"])
             if len(by_k) > 1 else float("nan"))
    lines = ["| K | widths | batch | T | features | per step | peak RSS GB | estimate GB | estimate ≥ peak |",
             "|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        if "error" in r:
            lines.append(f"| {r['point']} | error: {r['error']} ||||||||")
            continue
        lines.append(f"| {r['branches']:,} | {tuple(r['widths'])} | {r['batch']} | {r['steps']} | {r['features']} | "
                     f"{'yes' if r['per_step'] else 'no'} | {r['peak'] / 1e9:.2f} | {r['estimate'] / 1e9:.2f} | "
                     f"{'yes' if r['estimate'] >= r['peak'] else '**no**'} |")
    lines.append("")
    lines.append(f"Peak growth with K (widths (4, 1), batch 128, T 28, count): {slope:.1f} bytes per neuron, step and "
                 f"sequence ({slope / 4:.1f} float32).")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "sg-memory.md").write_text("\n".join(lines) + "\n")
    (out / "sg-memory.json").write_text(json.dumps(rows, indent=2))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
