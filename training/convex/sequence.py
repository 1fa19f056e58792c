"""Sequence tasks on the parallel LIF network: data splits, surrogate-gradient training and accuracy.

The SG baseline trains every weight of :class:`models.sequence_net.ParallelLIFNet` with Heaviside spikes forward
and the sigmoid's derivative backward (``mode="sg"``), Adam and cross-entropy (per step: averaged over the
steps). It also fine-tunes a reconstructed network (the paper's hybrid), starting from its weights.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from tqdm import tqdm

from training.convex.memory import SG_BATCH
from training.convex.tasks import LENGTH_FACTORS, TaskSpec, task_data


@dataclass(frozen=True)
class SequenceData:
    """The splits of one task: x (T, n, n_in) float32, y (n,) or (T, n) int64; ``longer`` maps a length
    factor to a test split with that many times the training digits (addition only)."""

    spec: TaskSpec
    train: tuple[np.ndarray, np.ndarray]
    val: tuple[np.ndarray, np.ndarray]
    test: tuple[np.ndarray, np.ndarray]
    longer: dict


def load_sequence_data(spec: TaskSpec, n_train: int, n_test: int, seed: int = 0) -> SequenceData:
    """Train/validation/test splits (validation = a quarter of ``n_train``, drawn separately)."""
    longer = {}
    if spec.per_step:
        longer = {f: task_data(spec, "test", n_test, seed, length=f * spec.length) for f in LENGTH_FACTORS}
    train, test = task_data(spec, "train", n_train, seed), task_data(spec, "test", n_test, seed)
    return SequenceData(spec, train, task_data(spec, "val", max(1, n_train // 4), seed), test, longer)


def logits_loss(model, x: torch.Tensor, y: torch.Tensor, mode: str) -> torch.Tensor:
    logits = model(x, mode)
    if model.cfg.per_step:
        return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), y.reshape(-1))
    return F.cross_entropy(logits, y)


@torch.no_grad()
def accuracy(model, x: np.ndarray, y: np.ndarray, mode: str = "hard", batch_size: int = 512) -> dict:
    """``{"accuracy": …}``: per sample; per step tasks report the digit accuracy as ``accuracy`` and the
    fraction of sequences with every digit right as ``sequence_accuracy``. A network with ``feedback`` (the
    autoregressive tasks) is scored as it runs deployed, on its own previous outputs
    (:meth:`~models.sequence_net.ParallelLIFNet.generate`): ``accuracy`` is then the autoregressive sum-token
    accuracy (tokens equal to the true sum digit, over every step of every sequence), and
    ``teacher_forced_accuracy`` the same tokens given the true previous digits."""
    feedback = bool(model.cfg.feedback)
    preds, forced = [], []
    for start in range(0, x.shape[1], batch_size):
        xb = torch.as_tensor(x[:, start:start + batch_size])
        preds.append((model.generate(xb, mode) if feedback else model(xb, mode)).argmax(-1).numpy())
        if feedback:
            forced.append(model(xb, mode).argmax(-1).numpy())
    pred = np.concatenate(preds, axis=-1)
    if model.cfg.per_step:
        right = pred == y
        out = {"accuracy": float(right.mean()), "sequence_accuracy": float(right.all(0).mean())}
        if feedback:
            out["teacher_forced_accuracy"] = float((np.concatenate(forced, axis=-1) == y).mean())
        return out
    return {"accuracy": float((pred == y).mean())}


def evaluate_sequence(model, data: SequenceData) -> dict:
    """Hard-spike test accuracy, and at the longer lengths for addition (the deployed network is hard)."""
    out = {"test": accuracy(model, *data.test)}
    for factor, split in data.longer.items():
        out[f"test_{factor}x"] = accuracy(model, *split)
    return out


def train_sequence_sg(model, data: SequenceData, epochs: int, lr: float = 3e-3, batch_size: int = SG_BATCH,
                      seed: int = 0, progress: bool = False, keep_best: bool = False) -> list[dict]:
    """Train all weights with surrogate gradients; one history line per epoch (loss, train/val hard acc).

    ``keep_best``: the network ends as it was after the epoch with the best validation accuracy, the start
    (epoch 0) included and the earliest of equals — so fine-tuning never leaves it worse on the validation
    split than it began (which must then be one its starting weights were not fitted on); the history's last line
    is ``{"best_epoch": …}``."""
    gen = torch.Generator().manual_seed(seed)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    x, y = (torch.as_tensor(a) for a in data.train)
    n = x.shape[1]
    history = []
    best = (accuracy(model, *data.val)["accuracy"], 0, copy.deepcopy(model.state_dict())) if keep_best else None
    if keep_best:
        history.append({"epoch": 0, "val_acc_hard": best[0]})
    for epoch in tqdm(range(epochs), desc="SG training", disable=not progress):
        order = torch.randperm(n, generator=gen)
        losses = []
        for start in range(0, n, batch_size):
            idx = order[start:start + batch_size]
            yb = y[:, idx] if model.cfg.per_step else y[idx]
            loss = logits_loss(model, x[:, idx], yb, "sg")
            opt.zero_grad()
            loss.backward()
            opt.step()
            losses.append(loss.item())
        history.append({"epoch": epoch + 1, "loss": float(np.mean(losses)),
                        "val_acc_hard": accuracy(model, *data.val)["accuracy"]})
        if keep_best and history[-1]["val_acc_hard"] > best[0]:
            best = (history[-1]["val_acc_hard"], epoch + 1, copy.deepcopy(model.state_dict()))
    if keep_best:
        model.load_state_dict(best[2])
        history.append({"best_epoch": best[1], "val_acc_hard": best[0]})
    return history


def sg_memory(spec: TaskSpec, branches: int, widths) -> None:
    """Refuse SG training of ``branches`` branches of ``widths`` on task ``spec`` when its memory estimate
    (:func:`training.convex.memory.sg_estimate`, batches of :data:`~training.convex.memory.SG_BATCH`) does not fit
    this machine: one line with the numbers, before any training."""
    from training.convex.memory import check_fits, sg_estimate
    from training.convex.tasks import source_bytes

    est = sg_estimate(spec.n_in, spec.steps, branches, widths, SG_BATCH, source_bytes(spec))
    check_fits(est, f"SG training on {spec.name} with {branches:,} branches of widths {list(widths)}, T {spec.steps} "
                    f"and batches of {SG_BATCH}", lower="--branches or --length")


def new_task_network(spec: TaskSpec, cfg):
    """A fresh parallel network for task ``spec`` (its inputs, classes, per-step readout and feedback) with the
    branches, widths, leak and features of ``cfg`` (a :class:`~training.convex.config.ReconConfig`)."""
    from models.config import ParallelConfig
    from models.sequence_net import ParallelLIFNet

    return ParallelLIFNet(ParallelConfig(f"{spec.name}-parallel", spec.n_in, cfg.branches, tuple(cfg.widths),
                                         spec.n_classes, tau=cfg.tau, features=cfg.features, per_step=spec.per_step,
                                         classes=spec.classes, feedback=spec.feedback))


def load_task_network(path: str, spec: TaskSpec):
    """A trained or reconstructed parallel network from checkpoint ``path``, checked to fit task ``spec``."""
    from models.checkpoint.weights import load_model
    from sast_live.errors import SastLiveError

    model, _ = load_model(path)
    if (hasattr(model, "convs") or model.cfg.n_in != spec.n_in or model.cfg.per_step != spec.per_step
            or model.cfg.feedback != spec.feedback):
        raise SastLiveError(f"{path} is not a parallel network for the {spec.name} task")
    return model


def run_sequence_sg(cfg, epochs: int, lr: float, init_from: str | None = None) -> dict:
    """The SG baseline on the sequence task of ``cfg`` (a :class:`~training.convex.config.ReconConfig`: the task,
    its length and data sizes, the network's branches, widths, leak and features, the seed and ``out``) for
    ``epochs`` at ``lr``; with ``init_from``, SG fine-tuning of a trained or reconstructed parallel network.
    Writes ``OUT/model.*`` and returns the summary."""
    from pathlib import Path

    from models.checkpoint.weights import save_checkpoint
    from sast_live.errors import SastLiveError
    from training.convex.tasks import task_spec

    task, out, length, seed = cfg.dataset, cfg.out, cfg.length, cfg.seed
    if (Path(out) / "model.json").is_file():
        raise SastLiveError(f"{out} already holds a model; choose another --out")
    if epochs < 1 or lr <= 0:
        raise SastLiveError(f"need epochs ≥ 1 and lr > 0, got {epochs} and {lr}")
    spec = task_spec(task, length)
    start = load_task_network(init_from, spec) if init_from else None
    # a network this machine cannot train is refused before the data are read
    sg_memory(spec, *((start.cfg.branches, start.cfg.widths) if start else (cfg.branches, cfg.widths)))
    data = load_sequence_data(spec, cfg.n_train, cfg.n_test, seed)
    torch.manual_seed(seed)
    model = start if start is not None else new_task_network(spec, cfg)
    history = train_sequence_sg(model, data, epochs, lr, seed=seed, progress=cfg.progress)
    acc = evaluate_sequence(model, data)
    train_cfg = {"dataset": task, "method": "sg-from-cvx" if init_from else "sg", "epochs": epochs, "lr": lr,
                 "length": length, "n_train": cfg.n_train, "seed": seed, "init_from": init_from}
    path = save_checkpoint(Path(out) / "model", model, {"model_cfg": model.cfg.to_dict(), "train_cfg": train_cfg,
                                                       "epoch": epochs, "history": history, "accuracy": acc})
    return {"method": train_cfg["method"], "dataset": task, "checkpoint": str(path), "accuracy": acc,
            "final_val_acc_hard": history[-1]["val_acc_hard"] if history else None}
