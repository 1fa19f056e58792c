"""The convex readout solver against cvxpy (CLARABEL, an interior-point solver) on the same problems.

A spike dictionary like the reconstruction's (a Gaussian-witness N-MNIST network's last-layer spike counts
on the real digits, 1,000 × 2,592) and column subsets of it; the multinomial cross-entropy readout at
rho = 0.03 · rho_max. Both solve to their own stopping rule (ours: relative duality gap 1e-4); the table
reports the seconds, the ratio, and how far our objective is from cvxpy's. cvxpy runs only up to 256 features
(the exponential cones of 1,000 × 10 scores took 264 s there on 2 cores; 1,024 did not finish in 10 minutes);
the full dictionary is solved by ours alone.

    python benchmarks/bench_convex.py [--json]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch
from report import cost, emit

CVXPY_MAX_FEATURES = 256


def dictionary() -> tuple[torch.Tensor, torch.Tensor]:
    from models.networks import build_model
    from training.config import TrainConfig
    from training.convex.dictionary import conv_dictionary
    from training.convex.witness import calibration_indices, gaussian_witness
    from training.data.frames import FrameCache
    from training.data.resolve import resolve_datasets
    from training.networks import model_config_for

    train, _ = resolve_datasets("nmnist-real", progress=False)
    torch.manual_seed(0)
    model = build_model(model_config_for(TrainConfig(), train.classes, train.sensor_size))
    cache = FrameCache(train, model.cfg)
    x, _ = cache.batch(calibration_indices(len(cache), 64))
    gaussian_witness(model, x, 0.1)
    return conv_dictionary(model, cache, "hard").floats(), cache.labels


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--json", action="store_true", help="also print the figures as one JSON line")
    args = ap.parse_args()
    from training.convex.solvers import cvx_reference, max_rho, solve

    D, y = dictionary()
    figures = []
    print(f"{'features':>9} {'ours s':>8} {'gap':>8} {'cvxpy s':>8} {'ratio':>7} {'objective vs cvxpy':>19}")
    for P in (64, 256, D.shape[1]):
        Dp = D[:, :P].contiguous()
        rho = 0.03 * max_rho(Dp, y, 10, "ce")
        t0 = time.perf_counter()
        sol = solve(Dp, y, 10, rho, "ce", tol=1e-4, max_iter=20_000)
        ours = time.perf_counter() - t0
        if P > CVXPY_MAX_FEATURES:
            print(f"{P:>9} {ours:>8.2f} {sol.rel_gap:>8.1e} {'—':>8} {'—':>7} {'—':>19}")
            continue
        t0 = time.perf_counter()
        _, opt = cvx_reference(Dp.numpy(), y.numpy(), 10, rho, "ce")
        theirs = time.perf_counter() - t0
        print(f"{P:>9} {ours:>8.2f} {sol.rel_gap:>8.1e} {theirs:>8.2f} {theirs / ours:>6.1f}× "
              f"{(sol.primal - opt) / abs(opt):>+19.1e}")
        figures.append(cost(f"convex readout, {P} features (1,000 real digits)", ours, "cvxpy/CLARABEL", theirs, "s",
                            note=f"objective {(sol.primal - opt) / abs(opt):+.0e} from cvxpy's"))
    emit("bench_convex", figures, args.json)


if __name__ == "__main__":
    np.set_printoptions(precision=4)
    main()
