"""Training, readable top to bottom: SAST (surrogate forward + SAM) and the baselines.

Methods (``TrainConfig.method``):
* ``sast``      — surrogate-forward network, SAM (``rho``, optional ``adaptive``, optional independent second
                  minibatch for the descent gradient: ``second_batch=True``);
* ``surrogate`` — surrogate-forward network, plain optimizer (the baseline the SAST paper compares with);
* ``sg``        — hard forward, surrogate-gradient backward (the conventional baseline).

Every epoch appends a line to ``metrics.jsonl`` and writes ``last.{safetensors,json}`` (weights, optimizer,
RNG, history); ``resume=True`` continues from it and ends with the same weights as an uninterrupted run.
Data order and random windows come from generators seeded by (seed, epoch), so they do not depend on
where a run was resumed.
"""

from __future__ import annotations

import json
import math
import time
from dataclasses import asdict, replace
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from tqdm import tqdm

from models.checkpoint.files import read_checkpoint_meta
from models.checkpoint.weights import load_checkpoint, restore, save_checkpoint
from models.config import SNNConfig, input_factor
from models.networks import build_model
from sast_live.errors import SastLiveError
from training import distributed
from training.augment import (
    GEOMETRY,
    GEOMETRY_EACH,
    GEOMETRY_WIDE,
    MIRROR_P,
    AugmentConfig,
    augment,
    log_uniform,
    mirror,
    mirror_classes,
    retime,
)
from training.config import TrainConfig
from training.data.datasets import limit_dataset
from training.data.frames import FrameCache
from training.decision.calibration import calibrate
from training.inference import evaluate_accuracy
from training.networks import finer_config, initial_network, model_config_for, resolve_device
from training.sam import SAM


def epoch_lr(cfg: TrainConfig, epoch: int) -> float:
    """The learning rate of ``epoch`` (0-based): a function of the epoch alone, so a resumed run matches."""
    if cfg.schedule == "cosine":
        return cfg.lr * 0.5 * (1 + math.cos(math.pi * epoch / cfg.epochs))
    return cfg.lr


def epoch_rho(cfg: TrainConfig, epoch: int) -> float:
    """SAST's rho in ``epoch`` (0-based). With ``rho_warmup`` it grows from 0: a full-size ascent from random
    weights can silence every neuron (no gradient at w + ε; seen on gestures-v2, where SAST stayed at chance
    while plain descent learned), so the network first learns to spike, then the neighbourhood grows."""
    return cfg.rho * min(1.0, epoch / cfg.rho_warmup) if cfg.rho_warmup else cfg.rho


#: with ``--outliers``, each batch carries this many outlier windows per in-class window (a quarter: an epoch then
#: shows each of gestures-v3's ~170 no-gesture training recordings about six times among gestures-v2's thousands)
OUTLIER_SHARE = 0.25


def uniform_ce(logits: torch.Tensor) -> torch.Tensor:
    """Cross-entropy of ``logits`` (B, classes) to the uniform distribution, averaged over the batch: smallest
    (log of the number of classes) when every class is equally likely (outlier exposure, Hendrycks et al., 2019)."""
    return -F.log_softmax(logits, 1).mean(1).mean()


def loss_and_acc(model, x, y, mode, hard_weight: float = 0.0, outliers=None, outlier_weight: float = 0.0):
    """Cross-entropy of ``model(x, mode)`` and its accuracy; with ``hard_weight`` w the loss is
    (1 − w)·CE(surrogate forward) + w·CE(hard spikes forward, surrogate gradient back): the network that will be
    deployed is trained too, not only its smooth twin (a method aimed at the swap; twice the forward work).
    ``outliers`` (T, B_o, 2, H, W) windows of scenes that are none of the classes run in the same forward passes
    and add ``outlier_weight`` × :func:`uniform_ce` of their logits (per pass, weighted as the passes are)."""
    n = x.shape[1]
    xin = x if outliers is None else torch.cat([x, outliers], 1)

    def term(logits):
        loss = F.cross_entropy(logits[:n], y)
        # a process's share of a small global outlier batch may be empty (several processes): no term, not NaN
        return loss + outlier_weight * uniform_ce(logits[n:]) if len(logits) > n else loss

    logits = model(xin, mode)
    loss = term(logits)
    if hard_weight:
        loss = (1 - hard_weight) * loss + hard_weight * term(model(xin, "sg"))
    return loss, (logits[:n].argmax(1) == y).float().mean().item()


def _global_batch(cache: FrameCache, indices: list[int], gen: torch.Generator, d, aug=None) -> tuple:
    """This rank's share of a global batch; random windows (and augmentations) are drawn for the whole global
    batch first, so the data do not depend on the number of processes."""
    mine = distributed.shard(list(range(len(indices))), d)
    if aug is not None and aug.has_speed:
        x, y = _retimed_batch(cache, indices, gen, aug)
    else:
        offsets = cache.draw_offsets(indices, gen)
        if aug is None:
            return cache.batch([indices[j] for j in mine], [offsets[j] for j in mine])
        x, y = cache.batch(indices, offsets)
    x = augment(x, gen, aug, cache.cfg.bin_us, cache.cfg.pooling)
    if aug.mirror_p:
        x, y = mirror(x, y, gen, aug.mirror_p, mirror_classes(cache.cfg.classes))
    return x[:, mine], y[mine]


def _retimed_batch(cache: FrameCache, indices: list[int], gen: torch.Generator, aug) -> tuple:
    """A batch of windows cut at a random tempo each (``aug.speed``, on ``aug.geo_p`` of them): ``speed · n_bins``
    bins of the recording (as many as it has) played in ``n_bins`` (:func:`training.augment.retime`)."""
    T = cache.cfg.n_bins
    use = torch.rand(len(indices), generator=gen) < aug.geo_p
    speeds = log_uniform(*aug.speed, len(indices), gen)
    out = np.empty((len(indices), T, *cache.frames[0].shape[1:]), np.float32)
    for j, i in enumerate(indices):
        f = cache.frames[int(i)]
        length = min(max(1, round(T * float(speeds[j]))), len(f)) if use[j] else min(T, len(f))
        start = int(torch.randint(0, len(f) - length + 1, (1,), generator=gen))
        out[j, :] = retime(f, start, length, T, gen) if length != T else f[start:start + T]
    x = torch.from_numpy(out).transpose(0, 1).contiguous()
    return x, cache.labels[torch.as_tensor(np.asarray(indices, dtype=np.int64))]


def augment_config(cfg: TrainConfig, mcfg: SNNConfig) -> AugmentConfig | None:
    """The run's augmentation: ``--augment``'s camera defaults and/or ``--onset``, ``--augment-geometry``'s draw,
    ``--mirror``; shifts in pixels of the sensor's standard input (:func:`models.config.input_factor`); hot pixels
    no faster than the model's refractory input filter lets through (a hot pixel at 1 kHz
    reaches a 10-ms-filtered net at 100 Hz)."""
    if not cfg.augment and not cfg.onset and not cfg.augment_geometry and not cfg.mirror:
        return None
    aug = AugmentConfig(max_onset=cfg.onset) if cfg.augment else \
        AugmentConfig(max_shift=0, max_drop=0.0, max_noise_hz=0.0, max_hot=0, max_onset=cfg.onset)
    if cfg.augment_geometry:
        aug = replace(aug, **(GEOMETRY_EACH if cfg.geometry_each else GEOMETRY))
        if cfg.geometry_wide:
            aug = replace(aug, **GEOMETRY_WIDE)
    if cfg.mirror:
        aug = replace(aug, mirror_p=MIRROR_P)
    f = input_factor(mcfg)  # the shifts are in standard-input pixels: the same distance on the sensor for any input
    if f > 1:
        aug = replace(aug, max_shift=aug.max_shift * f, geo_shift=aug.geo_shift * f)
    if getattr(mcfg, "refractory_us", 0):
        cap = 1e6 / mcfg.refractory_us
        aug = replace(aug, hot_rate_hz=tuple(min(r, cap) for r in aug.hot_rate_hz))
    return aug


def write_log(out: Path, history: list[dict]) -> None:
    """``out/metrics.jsonl``, one line per epoch of ``history``, replaced atomically (never half-written)."""
    tmp = out / "metrics.jsonl.tmp"
    tmp.write_text("".join(json.dumps(line) + "\n" for line in history))
    tmp.replace(out / "metrics.jsonl")


def prepare_data(cfg: TrainConfig, progress: bool) -> tuple:
    """``(train, validation or None, what the validation is, test)`` datasets of the run: limited, with the base
    model's old classes mixed in and balanced when fine-tuning (``keep_old``); the outliers come from
    :func:`prepare_outliers`."""
    from training.data.resolve import resolve_datasets

    if cfg.init_from:  # an untrusted model file is checked before any data is read or generated
        read_checkpoint_meta(cfg.init_from)
    train_ds, test_ds = resolve_datasets(cfg.dataset, cfg.data_dir, progress=progress)
    train_ds, test_ds = limit_dataset(train_ds, cfg.limit_train), limit_dataset(test_ds, cfg.limit_test)
    if cfg.keep_old:
        if not cfg.init_from:
            raise SastLiveError("--keep-old mixes in the base model's data: it needs --init-from")
        from training.data.mixing import with_old_classes

        train_ds = with_old_classes(train_ds, cfg.init_from, cfg.keep_old, progress, cfg.keep_old_from)
    if len(train_ds) == 0 or len(test_ds) == 0:
        raise SastLiveError(f"dataset {cfg.dataset!r} has {len(train_ds)} training and {len(test_ds)} test samples")
    val_ds, val_what = None, ""
    if cfg.validation:
        from training.data.validation import split_validation

        train_ds, val_ds, val_what = split_validation(train_ds, cfg.validation)
    if cfg.keep_old:  # a few takes of a new class among many old recordings: every class weighs the same
        from training.data.mixing import balance_classes

        train_ds = balance_classes(train_ds)
    return train_ds, val_ds, val_what, test_ds


def check_outliers_name(cfg: TrainConfig) -> None:
    """Refuse an ``--outliers`` that names no dataset (before a run's folder is made or any data is read)."""
    from training.data.resolve import DATASET_CHOICES, names_a_dataset

    if cfg.outliers and not names_a_dataset(cfg.outliers):
        raise SastLiveError(f"--outliers must be {DATASET_CHOICES}; got {cfg.outliers!r}")


def check_in_size(cfg: TrainConfig) -> None:
    """Refuse an ``--in-size`` the checkpoint to start from cannot be made finer to (before a run's folder is made or
    any data is read; a new network's is checked against its dataset's sensor when it is built)."""
    if cfg.in_size is None or not cfg.init_from:
        return
    meta, _ = read_checkpoint_meta(cfg.init_from)
    if meta["model_cfg"].get("kind") is None:  # a sequence network is refused by initial_network, in its words
        finer_config(SNNConfig.from_dict(meta["model_cfg"]), cfg.in_size)


def prepare_outliers(cfg: TrainConfig, train_ds, val_ds, progress: bool):
    """The training split of ``cfg.outliers`` (or None): same sensor as the run's data, without the recordings of
    the subjects the run holds out for validation (so what is measured on those people stays unseen)."""
    if not cfg.outliers:
        return None
    from training.data.resolve import resolve_split

    check_outliers_name(cfg)
    out = resolve_split(cfg.outliers, "train", None, progress)
    if tuple(out.sensor_size) != tuple(train_ds.sensor_size):
        raise SastLiveError(f"--outliers {cfg.outliers} is {out.sensor_size[0]}x{out.sensor_size[1]}, the training "
                            f"data {train_ds.sensor_size[0]}x{train_ds.sensor_size[1]}")
    if val_ds is not None and val_ds.recordings is not None and out.recordings is not None:
        held = {sid for sid, _ in val_ds.recordings}
        out = out.subset([i for i, (sid, _) in enumerate(out.recordings) if sid not in held])
    if len(out) == 0:
        raise SastLiveError(f"--outliers {cfg.outliers} has no training recordings left to train on")
    return out


def prepare_network(cfg: TrainConfig, train_ds, device) -> tuple:
    """``(model config, network)``: the checkpoint's (``init_from``) or a new one; ``freeze_features`` keeps the
    convolutions' weights."""
    torch.manual_seed(cfg.seed)
    if cfg.init_from:
        mcfg, net = initial_network(cfg.init_from, train_ds.classes, train_ds.sensor_size, cfg.channels, cfg.in_size)
        if cfg.readout_tied and not mcfg.readout_tied:  # the checkpoint's readout, tied from here on
            mcfg = replace(mcfg, readout_tied=True)
            net.cfg = mcfg
            net.tie_readout()
    else:
        mcfg = model_config_for(cfg, train_ds.classes, train_ds.sensor_size)
        net = build_model(mcfg)
    if cfg.freeze_features:  # fine-tuning on a few takes: the features stay, the readout learns
        for conv in net.convs:
            conv.weight.requires_grad_(False)
    return mcfg, net.to(device)


def make_optimizer(cfg: TrainConfig, net) -> tuple:
    """``(optimizer, its base optimizer)``: SAM around Adam for SAST, Adam alone for the baselines."""
    trainable = [q for q in net.parameters() if q.requires_grad]
    if cfg.method == "sast":
        optimizer = SAM(trainable, torch.optim.Adam, rho=cfg.rho, adaptive=cfg.adaptive, lr=cfg.lr)
        return optimizer, optimizer.base_optimizer
    optimizer = torch.optim.Adam(trainable, lr=cfg.lr)
    return optimizer, optimizer


def resume_state(cfg: TrainConfig, out: Path, mcfg: SNNConfig, net, base, main: bool) -> tuple[int, list]:
    """``(first epoch, history)``: 0 and none for a new run; where ``out/last`` stopped with ``resume``."""
    last = out / "last"
    if not last.with_suffix(".json").is_file():
        return 0, []
    if not cfg.resume:
        raise SastLiveError(f"{out} already holds a training run; continue it with --resume or choose another --out")
    meta, tensors = load_checkpoint(last)
    if meta["train_cfg"]["method"] != cfg.method or meta["model_cfg"] != json.loads(json.dumps(mcfg.to_dict())):
        raise SastLiveError(f"{last}: the checkpoint was trained with other settings; refusing to resume")
    restore(net, tensors, base, meta)
    if main:  # a run killed between its checkpoint and its log: the log is the checkpoint's history
        write_log(out, meta["history"])
    return meta["epoch"], meta["history"]


def run_epoch(cfg: TrainConfig, epoch: int, model, optimizer, base, cache: FrameCache, aug, d, progress: bool,
              outliers: FrameCache | None = None) -> dict:
    """One pass over the training cache (SAM's two passes per batch for SAST); returns the epoch's loss, training
    accuracy, seconds and gradient passes. With ``outliers`` every batch also carries :data:`OUTLIER_SHARE` as many
    random outlier windows (augmented alike), the same ones in both of SAM's passes."""
    gen = torch.Generator().manual_seed(cfg.seed * 100_003 + epoch)
    for group in base.param_groups:
        group["lr"] = epoch_lr(cfg, epoch)
        if cfg.method == "sast":
            group["rho"] = epoch_rho(cfg, epoch)
    n = len(cache)
    order = torch.randperm(n, generator=gen)
    second = torch.randperm(n, generator=gen)  # the independent minibatches of stochastic SAST
    mode = "sg" if cfg.method == "sg" else "surrogate"
    model.train()
    t0 = time.perf_counter()
    losses, accs, passes = [], [], 0
    for b in tqdm(range(0, n, cfg.batch_size), desc=f"epoch {epoch + 1}/{cfg.epochs}", disable=not progress,
                  leave=False):
        x, y = (t.to(d.device) for t in _global_batch(cache, order[b: b + cfg.batch_size].tolist(), gen, d, aug))
        xo = None
        if outliers is not None:
            k = max(1, math.ceil(OUTLIER_SHARE * min(cfg.batch_size, n - b)))
            xo = _global_batch(outliers, torch.randint(len(outliers), (k,), generator=gen).tolist(), gen, d,
                               aug)[0].to(d.device)
        loss, acc = loss_and_acc(model, x, y, mode, cfg.hard_loss, xo, cfg.outlier_weight)
        loss.backward()
        passes += 1
        if cfg.method == "sast":
            optimizer.first_step()
            if cfg.second_batch:
                x, y = (t.to(d.device) for t in _global_batch(cache, second[b: b + cfg.batch_size].tolist(), gen,
                                                                d, aug))
            loss2, _ = loss_and_acc(model, x, y, mode, cfg.hard_loss, xo, cfg.outlier_weight)  # fresh neuron state
            loss2.backward()
            passes += 1
            optimizer.second_step()
        else:
            optimizer.step()
            optimizer.zero_grad()
        getattr(model, "module", model).tie_readout()  # a tied readout stays tied (projected gradient descent)
        losses.append(loss.item())
        accs.append(acc)
    return {"loss": sum(losses) / len(losses), "train_acc": sum(accs) / len(accs),
            "epoch_seconds": time.perf_counter() - t0, "gradient_passes": passes}


def train(cfg: TrainConfig) -> dict:
    """Run training; returns the final metrics line. Writes into ``cfg.out``."""
    out = Path(cfg.out)
    check_outliers_name(cfg)
    check_in_size(cfg)
    d = distributed.setup(resolve_device(cfg.device))
    if d.world > 1 and cfg.batch_size % d.world:
        raise SastLiveError(f"batch size {cfg.batch_size} must divide by the {d.world} processes")
    if d.main:
        out.mkdir(parents=True, exist_ok=True)
    progress = cfg.progress and d.main
    train_ds, val_ds, val_what, test_ds = prepare_data(cfg, progress)
    out_ds = prepare_outliers(cfg, train_ds, val_ds, progress)
    mcfg, net = prepare_network(cfg, train_ds, d.device)  # the weights (saved, evaluated)
    model = distributed.wrap(net, d)  # what the training passes run through (DDP on several processes)
    optimizer, base = make_optimizer(cfg, net)
    start_epoch, history = resume_state(cfg, out, mcfg, net, base, d.main)

    def run_info() -> dict:  # what a checkpoint says about this run, after the epochs done so far
        return {"model_cfg": mcfg.to_dict(), "train_cfg": asdict(cfg), "epoch": len(history), "history": history}

    train_cache = FrameCache(train_ds, mcfg, progress)
    test_cache = FrameCache(test_ds, mcfg, progress)
    val_cache = FrameCache(val_ds, mcfg, progress) if val_ds is not None else None
    out_cache = FrameCache(out_ds, mcfg, progress) if out_ds is not None else None
    aug = augment_config(cfg, mcfg)
    for epoch in range(start_epoch, cfg.epochs):
        stats = run_epoch(cfg, epoch, model, optimizer, base, train_cache, aug, d, progress, out_cache)
        line = {"epoch": epoch + 1, "loss": stats["loss"], "train_acc": stats["train_acc"],
                "test_acc_surrogate": evaluate_accuracy(net, test_cache, "surrogate", d.device),
                "test_acc_hard": evaluate_accuracy(net, test_cache, "hard", d.device),
                "epoch_seconds": stats["epoch_seconds"], "gradient_passes": stats["gradient_passes"]}
        if val_cache is not None:
            line["val_acc_hard"] = evaluate_accuracy(net, val_cache, "hard", d.device)
        history.append(line)
        if d.main:  # one writer; the weights are identical on every rank
            save_checkpoint(out / "last", net, run_info(), base)
            write_log(out, history)  # after the checkpoint, from its history: a kill in between loses nothing
        distributed.barrier(d)
    final = history[-1] if history else {}
    if d.main:
        info = run_info()
        if val_cache is not None:  # calibrated confidences and the no-gesture gate, chosen on validation only
            decision, figures = calibrate(net, mcfg, val_cache, val_what, d.device)
            info |= {"decision": decision.to_dict(), "calibration": figures}
            final = dict(final, **{f"val_{k}": v for k, v in figures.items()})
        save_checkpoint(out / "model", net, info)
    distributed.teardown(d)
    return final
