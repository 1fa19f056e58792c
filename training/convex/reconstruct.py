"""Globally optimal readout reconstruction (CVX / SG-CVX), readable top to bottom.

1. **Witness**: the hidden weights — i.i.d. Gaussian (``method="cvx"``) or a trained checkpoint's
   (``method="sg-cvx"``, ``witness_from``).
2. **Dictionary**: every training sample's last-layer features from the network that will be deployed
   (:mod:`training.convex.dictionary`).
3. **Convex program**: ``min (1/n) Σ ℓ(D W, y) + rho‖W‖₁``, ``rho = beta/sqrt(P)``, along a beta path
   (largest first, warm-started), each solution with its duality-gap certificate
   (:mod:`training.convex.solvers`). The beta with the best validation accuracy wins (ties: the lower
   validation loss); it is then re-solved on training + validation samples.
4. **Reconstruction**: the readout is ``Wᵀ``; last-layer neurons whose readout row is zero are pruned (whole
   conv channels of the event networks, whole branches of the parallel networks — both exact: nothing else
   reads them). The result is an ordinary checkpoint (hard-spiking by design) that ``evaluate``, ``export``,
   ``replay`` and the GUI run like any other; optional surrogate-gradient fine-tuning starts from it.

Event datasets (N-MNIST, gestures, any dataset folder) use the convolutional networks with spike-count
features (their deployed readout); the sequence tasks (:mod:`training.convex.tasks`) use the parallel LIF
network of :mod:`models.sequence_net`.
"""

from __future__ import annotations

import json
import math
import time
from dataclasses import asdict, replace
from pathlib import Path

import numpy as np
import torch

from firmware_sim.precisions import DEPLOYED
from models.checkpoint.weights import save_checkpoint
from sast_live.errors import SastLiveError
from training.convex.config import BETA_FRACTIONS, ReconConfig
from training.convex.dictionary import conv_dictionary, parallel_dictionary, rows_labels
from training.convex.shards import Rows, broadcast_module, finish, group, local_rows, share
from training.convex.solvers import Solution, loss_value, max_rho, solve, solve_path
from training.convex.tasks import is_task, read_source, task_spec
from training.convex.witness import calibration_indices, gaussian_witness

# --- the convex step, shared by both kinds of network -----------------------------------------------------

def _accuracy(D: torch.Tensor, y: torch.Tensor, W: np.ndarray, rows: Rows) -> float:
    right = float(((D @ torch.from_numpy(W)).argmax(1) == y).sum()) if len(y) else 0.0
    return rows.total(right) / rows.n if rows.n else 0.0


def solver_floats(D_fit, D_val) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """``(F_all, F_fit, F_val)``: the fit and validation dictionaries as the solver's float64, in one array
    (n_fit + n_val, P) whose first rows are the fit rows; ``F_fit`` and ``F_val`` are views of it. The beta path
    solves on the views and the re-solve on ``F_all``: concatenating them there instead held a second float64
    copy of every row for the re-solve (+0.9 GB at P 28,000, n 3,500: a 2.37 GB peak against a 1.68 GB estimate)."""
    n_fit = len(D_fit)
    F_all = torch.empty((n_fit + len(D_val), D_fit.n_features), dtype=torch.float64)
    D_fit.floats_into(F_all[:n_fit])
    D_val.floats_into(F_all[n_fit:])
    return F_all, F_all[:n_fit], F_all[n_fit:]


def beta_path(D_fit, y_fit, D_val, y_val, n_classes: int, cfg: ReconConfig, log, world: int = 1
              ) -> tuple[list[dict], Solution, Solution]:
    """Solve along the beta path; return one row per beta, the chosen solution re-solved on fit + val, and the
    chosen solution itself (fitted on the fit samples only: the hybrid's start, whose validation stays unseen).
    With ``world`` processes (:mod:`training.convex.shards`) the dictionaries are this process's share of the rows
    and every sum over rows is added over the processes."""
    F_all, F_fit, F_val = solver_floats(D_fit, D_val)
    y_fit, y_val = torch.as_tensor(y_fit), torch.as_tensor(y_val)
    rows_fit, rows_val = local_rows(len(F_fit), world), local_rows(len(F_val), world)
    P = F_fit.shape[1]
    beta_max = max_rho(F_fit, y_fit, n_classes, cfg.loss, rows_fit) * math.sqrt(P)
    betas = sorted(cfg.betas or [beta_max * f for f in BETA_FRACTIONS], reverse=True)
    where = f" in each of {world} processes (its share of the rows)" if world > 1 else ""
    log(f"dictionary: {rows_fit.n:,} × {P:,} features stored in {D_fit.nbytes / 1e6:.2f} MB ({D_fit.storage}); "
        f"float64 for the solver {D_fit.float_nbytes() / 1e6:.1f} MB{where}; beta_max {beta_max:.4g}")
    sols = solve_path(F_fit, y_fit, n_classes, [b / math.sqrt(P) for b in betas], cfg.loss, cfg.tol, cfg.max_iter,
                      progress=cfg.progress, rows=rows_fit)
    rows = []
    for beta, sol in zip(betas, sols, strict=True):
        row = {"beta": beta, "rho": sol.rho, "primal": sol.primal, "dual": sol.dual, "gap": sol.gap,
               "rel_gap": sol.rel_gap, "iterations": sol.iterations, "seconds": sol.seconds,
               "active": int(sol.active.sum()), "features": P,
               "train_acc": _accuracy(F_fit, y_fit, sol.W, rows_fit),
               "val_acc": _accuracy(F_val, y_val, sol.W, rows_val),
               "val_loss": float(loss_value(F_val @ torch.from_numpy(sol.W),
                                            torch.nn.functional.one_hot(y_val, n_classes).double(), cfg.loss,
                                            rows=rows_val))}
        rows.append(row)
        log(f"beta {beta:9.4g}  rho {sol.rho:.3e}  gap {sol.gap:.2e} (rel {sol.rel_gap:.1e}, "
            f"{sol.iterations} it, {sol.seconds:.1f} s)  active {row['active']}/{P}  train {row['train_acc']:.3f}  "
            f"val {row['val_acc']:.3f}")
    # the best validation accuracy; among equals the lowest validation loss (wider margins survive the re-solve)
    best = max(range(len(rows)), key=lambda i: (rows[i]["val_acc"], -rows[i]["val_loss"]))
    y_all = torch.cat([y_fit, y_val])
    final = solve(F_all, y_all, n_classes, sols[best].rho, cfg.loss, W0=sols[best].W, tol=cfg.tol,
                  max_iter=cfg.max_iter, rows=Rows(rows_fit.n + rows_val.n, world))
    log(f"chosen beta {betas[best]:.4g}; re-solved on {rows_fit.n + rows_val.n:,} samples: gap {final.gap:.2e} "
        f"(rel {final.rel_gap:.1e}, {final.iterations} it), {int(final.active.sum())}/{P} neurons kept")
    rows[best]["chosen"] = True
    return rows, final, sols[best]


# --- pruning: zero readout rows → neurons nobody reads ---------------------------------------------------

@torch.no_grad()
def prune_conv(model, W: np.ndarray):
    """Drop last-layer channels whose every feature has a zero readout row; returns the smaller network."""
    from models.networks import build_model

    c, h, w = model.feature_shape
    keep = np.flatnonzero(np.any(W.reshape(c, h * w, -1) != 0, axis=(1, 2)))
    if len(keep) == 0:
        keep = np.array([0])
    layers = list(model.cfg.layers)
    layers[-1] = replace(layers[-1], out_channels=len(keep))
    small = build_model(replace(model.cfg, layers=tuple(layers)))
    for a, b in zip(small.convs[:-1], model.convs[:-1], strict=True):
        a.weight.copy_(b.weight)
    small.convs[-1].weight.copy_(model.convs[-1].weight[keep])
    small.readout.weight.copy_(torch.from_numpy(W.reshape(c, h * w, -1)[keep].reshape(-1, W.shape[1]).T))
    return small


@torch.no_grad()
def prune_parallel(model, W: np.ndarray):
    """Drop branches whose last-layer neurons all have zero readout rows; returns the smaller network."""
    from models.sequence_net import ParallelLIFNet

    K, m = model.cfg.branches, model.cfg.widths[-1]
    keep = np.flatnonzero(np.any(W.reshape(K, m, -1) != 0, axis=(1, 2)))
    if len(keep) == 0:
        keep = np.array([0])
    small = ParallelLIFNet(replace(model.cfg, branches=len(keep)))
    for a, b in zip(small.layers, model.layers, strict=True):
        a.copy_(b[keep])
    small.readout.weight.copy_(torch.from_numpy(W.reshape(K, m, -1)[keep].reshape(-1, W.shape[1]).T))
    return small


# --- the two kinds of data -------------------------------------------------------------------------------

def witness_line(witness: dict) -> str:
    sigma = ", ".join(f"{v:.3g}" for v in witness["sigma"])
    rate = ", ".join(f"{v:.3f}" for v in witness["rate"])
    return f"Gaussian witness: sigma per layer [{sigma}], spike rates [{rate}]"


def solved_summary(witness: dict, dictionary_bytes: int, sol: Solution, times) -> dict:
    """What every reconstruction reports: witness, dictionary bytes (of every process together), neurons kept,
    the final certificate and the seconds of each stage (``times`` = perf_counter before the witness, the
    dictionary, the solve, after)."""
    t0, t1, t2, t3 = times
    return {"witness": witness, "dictionary_bytes": dictionary_bytes, "features": int(sol.W.shape[0]),
            "kept_features": int(sol.active.sum()),
            "final": {"rho": sol.rho, "gap": sol.gap, "rel_gap": sol.rel_gap, "iterations": sol.iterations},
            "seconds": {"witness": t1 - t0, "dictionary": t2 - t1, "solve": t3 - t2}}


def _info(model, cfg: ReconConfig, rows: list[dict], extra: dict) -> dict:
    train_cfg = asdict(cfg)
    train_cfg["rho"] = next(r["rho"] for r in rows if r.get("chosen"))
    return {"model_cfg": model.cfg.to_dict(), "train_cfg": train_cfg, "epoch": 0, "history": rows,
            "reconstruction": extra}


def reconstruct_events(cfg: ReconConfig, log, rank: int = 0, world: int = 1) -> tuple[list[dict], dict | None]:
    from models.networks import build_model
    from training.config import TrainConfig
    from training.data.datasets import limit_dataset
    from training.data.frames import FrameCache
    from training.data.resolve import resolve_datasets
    from training.inference import evaluate_accuracy
    from training.networks import initial_network, model_config_for

    train_ds, test_ds = resolve_datasets(cfg.dataset, cfg.data_dir, progress=cfg.progress)
    train_ds, test_ds = limit_dataset(train_ds, cfg.limit_train), limit_dataset(test_ds, cfg.limit_test)
    if len(train_ds) < cfg.val_every or len(test_ds) == 0:
        raise SastLiveError(f"dataset {cfg.dataset!r}: {len(train_ds)} training / {len(test_ds)} test samples is "
                            f"too few")
    torch.manual_seed(cfg.seed)
    if cfg.method == "sg-cvx":  # the checkpoint's network is the witness; its readout is re-solved below
        _, model = initial_network(cfg.witness_from, train_ds.classes)
    else:
        model = build_model(model_config_for(TrainConfig(n_bins=cfg.n_bins), train_ds.classes, train_ds.sensor_size))
    model.eval()
    cache = FrameCache(train_ds, model.cfg, cfg.progress)
    test_cache = FrameCache(test_ds, model.cfg, cfg.progress)
    idx = np.arange(len(cache))
    fit, val = cache.subset(idx[idx % cfg.val_every != 0]), cache.subset(idx[idx % cfg.val_every == 0])
    witness = {}
    t0 = time.perf_counter()
    if cfg.method == "cvx":
        x_cal, _ = fit.batch(calibration_indices(len(fit), 64))
        witness = gaussian_witness(model, x_cal, cfg.witness_rate, cfg.seed)
        log(witness_line(witness))
    broadcast_module(model, world)  # every process's rows from rank 0's network
    t1 = time.perf_counter()
    fit, val = (c.subset(share(len(c), rank, world)) for c in (fit, val))  # this process's rows (all of them: 1)
    D_fit = conv_dictionary(model, fit, cfg.dictionary, progress=cfg.progress)
    D_val = conv_dictionary(model, val, cfg.dictionary, progress=cfg.progress)
    t2 = time.perf_counter()
    rows, sol, _ = beta_path(D_fit, fit.labels.numpy(), D_val, val.labels.numpy(), model.cfg.n_classes, cfg, log,
                             world)
    t3 = time.perf_counter()
    dictionary_bytes = finish(D_fit.nbytes + D_val.nbytes, world)  # no sum over processes after this
    if rank:  # the same readout in every process: the first one writes and evaluates it
        return rows, None
    model = prune_conv(model, sol.W)
    extra = {**solved_summary(witness, dictionary_bytes, sol, (t0, t1, t2, t3)), "dictionary": cfg.dictionary,
             "kept_channels": model.cfg.layers[-1].out_channels}
    path = save_checkpoint(Path(cfg.out) / "model", model, _info(model, cfg, rows, extra))
    from training.evaluation.hardware import evaluate_hardware

    extra["test_acc_hard"] = evaluate_accuracy(model, test_cache, "hard")
    precisions = (DEPLOYED,) if cfg.dictionary in ("hard", DEPLOYED) else (DEPLOYED, cfg.dictionary)
    hw, _ = evaluate_hardware(path, test_cache.windows(), test_cache.labels.numpy(), precisions)
    for name in precisions:
        extra[f"test_acc_{name}"] = hw[name]["accuracy"]
    save_checkpoint(path, model, _info(model, cfg, rows, extra))
    if cfg.finetune_epochs:
        from training.train import train

        ft = TrainConfig(dataset=cfg.dataset, data_dir=cfg.data_dir, method="sg", epochs=cfg.finetune_epochs,
                         lr=cfg.lr, seed=cfg.seed, out=str(Path(cfg.out) / "finetuned"), init_from=str(path),
                         limit_train=cfg.limit_train, limit_test=cfg.limit_test, progress=cfg.progress)
        extra["finetuned"] = {"checkpoint": str(Path(ft.out) / "model"), **train(ft)}
    return rows, extra


def sequence_memory(cfg: ReconConfig):
    """The memory estimate of a ``cvx`` sequence run (:mod:`training.convex.memory`), refused with the numbers when
    it does not fit this machine; with ``finetune_epochs`` (the hybrid, which then trains the same network with SG)
    SG's estimate is checked too. (sg-cvx's network is a checkpoint's, already held once.)"""
    from training.convex.memory import check_fits, estimate
    from training.convex.sequence import sg_memory
    from training.convex.tasks import source_bytes, split_sizes

    spec = task_spec(cfg.dataset, cfg.length)
    n_fit, n_val = split_sizes(spec, cfg.n_train)
    est = estimate(spec.n_in, spec.n_classes, spec.steps, spec.per_step, cfg.branches, cfg.widths, cfg.features,
                   n_fit, n_val, source_bytes(spec))
    check_fits(est, f"{cfg.dataset} with {cfg.branches:,} branches of widths {list(cfg.widths)}, T {spec.steps} and "
                    f"{n_fit:,} training sequences")
    if cfg.finetune_epochs:
        sg_memory(spec, cfg.branches, cfg.widths)
    return est


def reconstruct_sequence(cfg: ReconConfig, log, rank: int = 0, world: int = 1) -> tuple[list[dict], dict | None]:
    from training.convex.sequence import (
        evaluate_sequence,
        load_sequence_data,
        load_task_network,
        new_task_network,
        train_sequence_sg,
    )

    spec = task_spec(cfg.dataset, cfg.length)
    data = load_sequence_data(spec, cfg.n_train, cfg.n_test, cfg.seed)
    torch.manual_seed(cfg.seed)
    witness = {}
    t0 = time.perf_counter()
    if cfg.method == "sg-cvx":
        model = load_task_network(cfg.witness_from, spec)
    else:
        model = new_task_network(spec, cfg)
        x_cal = torch.as_tensor(data.train[0][:, calibration_indices(data.train[0].shape[1], 256)])
        witness = gaussian_witness(model, x_cal, cfg.witness_rate, cfg.seed)
        log(witness_line(witness))
    broadcast_module(model, world)  # every process's rows from rank 0's network
    t1 = time.perf_counter()
    def mine(x, y):  # this process's sequences (all of them in one process); x (T, n, n_in), y (n,) or (T, n)
        idx = share(x.shape[1], rank, world)
        return x[:, idx], y[..., idx]

    (x_fit, y_fit), (x_val, y_val) = mine(*data.train), mine(*data.val)
    D_fit, D_val = parallel_dictionary(model, x_fit), parallel_dictionary(model, x_val)
    y_fit, y_val = rows_labels(y_fit, spec.per_step), rows_labels(y_val, spec.per_step)
    t2 = time.perf_counter()
    rows, sol, sol_fit = beta_path(D_fit, y_fit, D_val, y_val, spec.n_classes, cfg, log, world)
    t3 = time.perf_counter()
    dictionary_bytes = finish(D_fit.nbytes + D_val.nbytes, world)  # no sum over processes after this
    if rank:  # the same readout in every process: the first one writes and evaluates it
        return rows, None
    witness_net, model = model, prune_parallel(model, sol.W)
    extra = {**solved_summary(witness, dictionary_bytes, sol, (t0, t1, t2, t3)), "kept_branches": model.cfg.branches,
             "accuracy": evaluate_sequence(model, data)}
    path = save_checkpoint(Path(cfg.out) / "model", model, _info(model, cfg, rows, extra))
    if cfg.finetune_epochs:
        # the hybrid starts from the chosen beta's solution on the fit samples, before the re-solve on fit +
        # validation: the validation samples stay unseen, so the epoch kept (0, the convex solution itself,
        # included) is chosen on data neither step trained on
        start = prune_parallel(witness_net, sol_fit.W)
        at_start = evaluate_sequence(start, data)
        history = train_sequence_sg(start, data, cfg.finetune_epochs, cfg.lr, seed=cfg.seed, progress=cfg.progress,
                                    keep_best=True)
        info = _info(start, cfg, rows, extra)
        info["train_cfg"]["method"] = "sg-from-cvx"
        info["finetune_history"] = history
        ft = save_checkpoint(path.parent / "finetuned", start, info)
        extra["finetuned"] = {"checkpoint": str(ft), "accuracy": evaluate_sequence(start, data),
                              "start": {"kept_branches": start.cfg.branches, "accuracy": at_start},
                              "best_epoch": history[-1]["best_epoch"],
                              "val_acc_hard": [h["val_acc_hard"] for h in history[:-1]]}
        log(f"SG fine-tuning from the convex solution on the fit samples (test {at_start['test']['accuracy']:.3f}): "
            f"validation {' → '.join(f'{v:.3f}' for v in extra['finetuned']['val_acc_hard'])}; kept epoch "
            f"{extra['finetuned']['best_epoch']}: test {extra['finetuned']['accuracy']['test']['accuracy']:.3f}")
    return rows, extra


def reconstruct(cfg: ReconConfig) -> dict | None:
    """Run the reconstruction; writes ``OUT/model.*`` (and ``OUT/finetuned*``), ``OUT/path.json``,
    ``OUT/path.png``; returns the summary (also ``OUT/summary.json``).

    Launched by ``torchrun --nproc_per_node N`` (one machine or several), each process builds and holds its share
    of the dictionary's rows and the solver adds their sums (:mod:`training.convex.shards`); the first process
    writes and evaluates the result and returns the summary, the others ``None``."""
    out = Path(cfg.out)
    if (out / "model.json").is_file():
        raise SastLiveError(f"{out} already holds a model; choose another --out")
    # a run this machine cannot hold is refused before anything is written
    memory = sequence_memory(cfg) if is_task(cfg.dataset) and cfg.method == "cvx" else None
    if is_task(cfg.dataset):
        read_source(cfg.dataset)
    rank, world = group()
    if rank == 0:
        out.mkdir(parents=True, exist_ok=True)
    else:  # one progress display: the first process's
        cfg = replace(cfg, progress=False)
    lines = []

    def log(msg: str) -> None:
        lines.append(msg)
        if cfg.progress and rank == 0:
            print(msg, flush=True)

    if memory is not None:
        log(f"memory: about {memory.describe()}")
    if world > 1:
        log(f"{world} processes, each with its share of the dictionary's rows")

    t0 = time.perf_counter()
    rows, summary = (reconstruct_sequence if is_task(cfg.dataset) else reconstruct_events)(cfg, log, rank, world)
    if summary is None:
        return None
    summary = {"method": cfg.method, "dataset": cfg.dataset, "checkpoint": str(out / "model"),
               "seconds_total": time.perf_counter() - t0, "processes": world, **summary}
    (out / "path.json").write_text(json.dumps(rows, indent=2))
    (out / "summary.json").write_text(json.dumps(summary, indent=2, default=float))
    (out / "log.txt").write_text("\n".join(lines) + "\n")
    plot_path(rows, out / "path.png", f"{cfg.method} on {cfg.dataset}")
    return summary


def plot_path(rows: list[dict], path: Path, title: str) -> None:
    """Validation accuracy, kept neurons and the certificate along the beta path."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    betas = [r["beta"] for r in rows]
    fig, axes = plt.subplots(1, 3, figsize=(12, 3.4))
    axes[0].semilogx(betas, [r["train_acc"] for r in rows], "o-", label="train")
    axes[0].semilogx(betas, [r["val_acc"] for r in rows], "s-", label="validation")
    axes[0].set(xlabel="beta", ylabel="accuracy of D·W (the deployed spikes)", ylim=(0, 1.02))
    axes[0].legend()
    axes[1].semilogx(betas, [r["active"] for r in rows], "o-")
    axes[1].set(xlabel="beta", ylabel=f"neurons kept (of {rows[0]['features']})")
    axes[2].loglog(betas, [max(r["rel_gap"], 1e-16) for r in rows], "o-")
    axes[2].set(xlabel="beta", ylabel="relative duality gap (certificate)")
    for r in rows:
        if r.get("chosen"):
            for ax in axes:
                ax.axvline(r["beta"], color="grey", ls="--", lw=1)
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
