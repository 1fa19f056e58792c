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
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from tqdm import tqdm

from models.checkpoint.files import read_checkpoint_meta
from models.checkpoint.weights import load_checkpoint, restore, save_checkpoint
from models.config import SNNConfig, gesture_config, nmnist_config
from models.decision import NO_GESTURE, softmax
from models.networks import build_model
from sast_live.errors import SastLiveError
from training import distributed
from training.augment import AugmentConfig, augment
from training.frames import FrameCache
from training.sam import SAM

METHODS = ("sast", "surrogate", "sg")
SCHEDULES = ("constant", "cosine")


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


@dataclass(frozen=True)
class TrainConfig:
    dataset: str = "nmnist-real"  # nmnist | nmnist-real | gestures | PATH to a dataset folder
    data_dir: str | None = None  # where the synthetic datasets live (made on first use)
    method: str = "sast"
    rho: float = 0.3
    adaptive: bool = False
    second_batch: bool = False  # stochastic SAST: ascent and descent gradients from independent batches
    epochs: int = 20
    batch_size: int = 32
    lr: float = 2e-3
    seed: int = 0
    out: str = "runs/train"
    resume: bool = False
    beta: float | None = None  # override the model's sigmoid slope
    n_bins: int | None = None  # override the model's window length (bins)
    limit_train: int | None = None  # use only the first N training samples (quick runs, tests)
    limit_test: int | None = None
    device: str = "auto"
    progress: bool = True
    init_from: str | None = None  # start from this checkpoint's network and weights (e.g. fine-tune a CVX model)
    augment: bool = False  # shift, event drop, background noise, hot pixels (training.augment.AugmentConfig)
    validation: float = 0.0  # hold out this fraction of the training subjects (or samples) to fit the decision
    schedule: str = "constant"  # learning rate over the epochs: constant, or cosine (decays to 0 at the last epoch)
    rho_warmup: int = 0  # SAST: rho grows linearly from 0 over this many epochs (plain descent in the first)
    onset: float = 0.0  # augmentation: up to this fraction of a window empty before the gesture (training.augment)
    keep_old: int = 0  # fine-tuning: mix in this many training samples per class of the base model's own dataset
    keep_old_from: str | None = None  # ... or of this dataset (name or folder) instead
    freeze_features: bool = False  # train the readout only (the convolutions keep their weights)
    hard_loss: float = 0.0  # weight of the hard-spike (SG) forward pass in the loss (loss_and_acc), 0 = none
    channels: tuple[int, ...] | None = None  # output channels of each conv layer (default: the network's own)

    def __post_init__(self):
        if self.method not in METHODS:
            raise SastLiveError(f"method must be one of {METHODS}, got {self.method!r}")
        if self.rho < 0 or self.epochs < 1 or self.batch_size < 1 or self.lr <= 0 or self.rho_warmup < 0:
            raise SastLiveError("need rho ≥ 0, epochs ≥ 1, batch size ≥ 1 and lr > 0")
        if self.schedule not in SCHEDULES:
            raise SastLiveError(f"--schedule must be one of {SCHEDULES}, got {self.schedule!r}")
        if self.keep_old < 0:
            raise SastLiveError(f"--keep-old must be ≥ 0, got {self.keep_old}")
        if not 0 <= self.onset < 1:
            raise SastLiveError(f"--onset must be a fraction of the window in [0, 1), got {self.onset}")
        if not 0 <= self.hard_loss <= 1:
            raise SastLiveError(f"--hard-loss is a weight from 0 to 1, got {self.hard_loss}")
        if self.hard_loss and self.method == "sg":
            raise SastLiveError("--hard-loss adds the hard forward pass to surrogate-forward training; --method sg "
                                "trains on the hard forward pass alone already")
        if not 0 <= self.validation < 1:
            raise SastLiveError(f"--validation must be in [0, 1), got {self.validation}")
        if self.channels is not None and (not self.channels or min(self.channels) < 1):
            raise SastLiveError(f"--channels must be positive channel counts, got {self.channels}")
        if self.channels is not None and self.init_from:
            raise SastLiveError("--channels shapes a new network; --init-from keeps the checkpoint's")


def model_config_for(cfg: TrainConfig, classes, sensor_size) -> SNNConfig:
    """The network for a dataset: by sensor geometry (34×34 → N-MNIST net, 128×128 → gesture net)."""
    by_sensor = {(34, 34): nmnist_config, (128, 128): gesture_config}
    if tuple(sensor_size) not in by_sensor:
        raise SastLiveError(f"no network defined for a {sensor_size[0]}x{sensor_size[1]} sensor "
                            "(models exist for 34x34 and 128x128)")
    base = by_sensor[tuple(sensor_size)]()
    changes = {"classes": tuple(classes), "n_classes": len(classes)}
    if cfg.beta is not None:
        changes["beta"] = cfg.beta
    if cfg.n_bins is not None:
        changes["n_bins"] = cfg.n_bins
    if cfg.channels is not None:
        if len(cfg.channels) != len(base.layers):
            raise SastLiveError(f"--channels needs one count per convolutional layer of the {base.name} network "
                                f"({len(base.layers)}: {' '.join(str(c.out_channels) for c in base.layers)}), got "
                                f"{len(cfg.channels)}")
        changes["layers"] = tuple(replace(c, out_channels=int(n)) for c, n in zip(base.layers, cfg.channels,
                                                                                    strict=True))
    return replace(base, **changes)


def initial_network(path: str, classes, sensor_size=None) -> tuple[SNNConfig, torch.nn.Module]:
    """The network and weights of checkpoint ``path`` to start training from (its config is kept). A dataset
    whose classes are the model's, in order, followed by new ones grows the readout: the old classes keep their
    rows and biases, each new class gets a fresh row (PyTorch's default initialisation) and the old classes'
    mean bias."""
    from models.checkpoint.weights import load_model

    model, _ = load_model(path)
    if not isinstance(model.cfg, SNNConfig):
        raise SastLiveError(f"{path} is a sequence-task network; event training starts from an event network")
    if sensor_size is not None and tuple(model.cfg.sensor_size) != tuple(sensor_size):
        raise SastLiveError(f"{path} was made for a {model.cfg.sensor_size[0]}x{model.cfg.sensor_size[1]} sensor; "
                            f"the dataset's recordings are {sensor_size[0]}x{sensor_size[1]}")
    old, new = tuple(model.cfg.classes), tuple(classes)
    if new == old:
        return model.cfg, model
    if new[:len(old)] != old:
        raise SastLiveError(f"{path} has classes {list(old)}; the dataset's classes must be these, in this order, "
                            f"followed by any new ones — it has {list(new)}")
    cfg = replace(model.cfg, classes=new, n_classes=len(new))
    grown = build_model(cfg)
    state = model.state_dict()
    target = grown.state_dict()
    for key, value in state.items():
        if key.startswith("readout."):
            target[key][:len(old)] = value
            if key == "readout.bias":
                target[key][len(old):] = value.mean()
        else:
            target[key] = value
    grown.load_state_dict(target)
    return cfg, grown


def resolve_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)


def limit_dataset(ds, n):
    if n is None or n >= len(ds):
        return ds
    # keep classes balanced when cutting: take every k-th sample
    return ds.subset(torch.linspace(0, len(ds) - 1, n).round().long().tolist())


def loss_and_acc(model, x, y, mode, hard_weight: float = 0.0):
    """Cross-entropy of ``model(x, mode)`` and its accuracy; with ``hard_weight`` w the loss is
    (1 − w)·CE(surrogate forward) + w·CE(hard spikes forward, surrogate gradient back): the network that will be
    deployed is trained too, not only its smooth twin (a method aimed at the swap; twice the forward work)."""
    logits = model(x, mode)
    loss = F.cross_entropy(logits, y)
    if hard_weight:
        loss = (1 - hard_weight) * loss + hard_weight * F.cross_entropy(model(x, "sg"), y)
    return loss, (logits.argmax(1) == y).float().mean().item()


@torch.no_grad()
def predict_logits(model, cache: FrameCache, mode: str, device="cpu", batch_size: int = 64) -> np.ndarray:
    """Logits (N, classes) over a cached split (centred windows), spike function ``mode``."""
    model.eval()
    return np.concatenate([model(x.to(device), mode).double().cpu().numpy() for x, _ in cache.batches(batch_size)])


def predict(model, cache: FrameCache, mode: str, device="cpu", batch_size: int = 64) -> np.ndarray:
    """Softmax probabilities (N, classes) over a cached split (centred windows), spike function ``mode``."""
    return softmax(predict_logits(model, cache, mode, device, batch_size))


def evaluate_accuracy(model, cache: FrameCache, mode: str, device="cpu", batch_size: int = 64) -> float:
    """Accuracy over a cached split (centred windows) with spike function ``mode``."""
    if len(cache) == 0:
        return 0.0
    return float((predict(model, cache, mode, device, batch_size).argmax(1) == cache.labels.numpy()).mean())


def _global_batch(cache: FrameCache, indices: list[int], gen: torch.Generator, d, aug=None) -> tuple:
    """This rank's share of a global batch; random windows (and augmentations) are drawn for the whole global
    batch first, so the data do not depend on the number of processes."""
    offsets = cache.draw_offsets(indices, gen)
    mine = distributed.shard(list(range(len(indices))), d)
    if aug is None:
        return cache.batch([indices[j] for j in mine], [offsets[j] for j in mine])
    x, y = cache.batch(indices, offsets)
    x = augment(x, gen, aug, cache.cfg.bin_us, cache.cfg.pooling)
    return x[:, mine], y[mine]


def augment_config(cfg: TrainConfig, mcfg: SNNConfig) -> AugmentConfig | None:
    """The run's augmentation: ``--augment``'s camera defaults and/or ``--onset``; hot pixels no faster than the
    model's refractory input filter lets through (a hot pixel at 1 kHz reaches a 10-ms-filtered net at 100 Hz)."""
    if not cfg.augment and not cfg.onset:
        return None
    aug = AugmentConfig(max_onset=cfg.onset) if cfg.augment else \
        AugmentConfig(max_shift=0, max_drop=0.0, max_noise_hz=0.0, max_hot=0, max_onset=cfg.onset)
    if getattr(mcfg, "refractory_us", 0):
        cap = 1e6 / mcfg.refractory_us
        aug = replace(aug, hot_rate_hz=tuple(min(r, cap) for r in aug.hot_rate_hz))
    return aug


def write_log(out: Path, history: list[dict]) -> None:
    """``out/metrics.jsonl``, one line per epoch of ``history``, replaced atomically (never half-written)."""
    tmp = out / "metrics.jsonl.tmp"
    tmp.write_text("".join(json.dumps(line) + "\n" for line in history))
    tmp.replace(out / "metrics.jsonl")


#: per-class offsets are fitted only with at least this many validation samples per class (the shipped gesture
#: models: 26); with fewer — a fine-tuning's validation fifth of a few takes — they were noise: fitted on 15
#: samples, offsets up to 6 took the old classes of a fine-tuned model from 0.90 to 0.73, so the temperature alone
#: is fitted there
OFFSETS_MIN_PER_CLASS = 20


def calibrate(net, mcfg: SNNConfig, val_cache: FrameCache, val_what: str, device="cpu",
              min_per_class: int = OFFSETS_MIN_PER_CLASS) -> tuple:
    """``(Decision, figures)`` fitted on the validation cache's hard-spike logits; a network with a readout bias
    and at least ``min_per_class`` validation samples per class gets the fitted per-class offsets folded into that
    bias (in place; :mod:`training.calibration`)."""
    from training.calibration import fit_decision

    reject = mcfg.classes.index(NO_GESTURE) if NO_GESTURE in mcfg.classes else None
    offsets = net.readout.bias is not None and len(val_cache) >= min_per_class * mcfg.n_classes
    decision, figures, shift = fit_decision(predict_logits(net, val_cache, "hard", device), val_cache.labels.numpy(),
                                            reject, f"hard spikes on {val_what}"
                                            + (" (temperature and per-class offsets)" if offsets else ""),
                                            offsets=offsets)
    if shift is not None:
        with torch.no_grad():
            net.readout.bias += torch.as_tensor(shift, dtype=net.readout.bias.dtype, device=net.readout.bias.device)
    return decision, figures


def train(cfg: TrainConfig) -> dict:
    """Run training; returns the final metrics line. Writes into ``cfg.out``."""
    from training.data.resolve import resolve_datasets

    out = Path(cfg.out)
    d = distributed.setup(resolve_device(cfg.device))
    device = d.device
    if d.world > 1 and cfg.batch_size % d.world:
        raise SastLiveError(f"batch size {cfg.batch_size} must divide by the {d.world} processes")
    if d.main:
        out.mkdir(parents=True, exist_ok=True)
    progress = cfg.progress and d.main
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
    val_ds = None
    if cfg.validation:
        from training.validation import split_validation

        train_ds, val_ds, val_what = split_validation(train_ds, cfg.validation)
    if cfg.keep_old:  # a few takes of a new class among many old recordings: every class weighs the same
        from training.data.mixing import balance_classes

        train_ds = balance_classes(train_ds)
    torch.manual_seed(cfg.seed)
    if cfg.init_from:
        mcfg, start = initial_network(cfg.init_from, train_ds.classes, train_ds.sensor_size)
        net = start.to(device)
    else:
        mcfg = model_config_for(cfg, train_ds.classes, train_ds.sensor_size)
        net = build_model(mcfg).to(device)  # the weights (saved, evaluated)
    if cfg.freeze_features:  # fine-tuning on a few takes: the features stay, the readout learns
        for conv in net.convs:
            conv.weight.requires_grad_(False)
    trainable = [q for q in net.parameters() if q.requires_grad]
    model = distributed.wrap(net, d)  # what the training passes run through (DDP on several processes)
    if cfg.method == "sast":
        optimizer = SAM(trainable, torch.optim.Adam, rho=cfg.rho, adaptive=cfg.adaptive, lr=cfg.lr)
        base = optimizer.base_optimizer
    else:
        optimizer = base = torch.optim.Adam(trainable, lr=cfg.lr)
    start_epoch, history = 0, []
    last = out / "last"
    earlier_run = last.with_suffix(".json").is_file()
    if earlier_run and not cfg.resume:
        raise SastLiveError(f"{out} already holds a training run; continue it with --resume or choose another --out")
    if earlier_run:
        meta, tensors = load_checkpoint(last)
        if meta["train_cfg"]["method"] != cfg.method or meta["model_cfg"] != json.loads(json.dumps(mcfg.to_dict())):
            raise SastLiveError(f"{last}: the checkpoint was trained with other settings; refusing to resume")
        restore(net, tensors, base, meta)
        start_epoch, history = meta["epoch"], meta["history"]
        if d.main:  # a run killed between its checkpoint and its log: the log is the checkpoint's history
            write_log(out, history)
    def run_info() -> dict:  # what a checkpoint says about this run, after the epochs done so far
        return {"model_cfg": mcfg.to_dict(), "train_cfg": asdict(cfg), "epoch": len(history), "history": history}

    train_cache = FrameCache(train_ds, mcfg, progress)
    test_cache = FrameCache(test_ds, mcfg, progress)
    val_cache = FrameCache(val_ds, mcfg, progress) if val_ds is not None else None
    train_mode = "sg" if cfg.method == "sg" else "surrogate"
    aug = augment_config(cfg, mcfg)
    n = len(train_cache)
    for epoch in range(start_epoch, cfg.epochs):
        gen = torch.Generator().manual_seed(cfg.seed * 100_003 + epoch)
        for group in base.param_groups:
            group["lr"] = epoch_lr(cfg, epoch)
            if cfg.method == "sast":
                group["rho"] = epoch_rho(cfg, epoch)
        order = torch.randperm(n, generator=gen)
        second = torch.randperm(n, generator=gen)  # the independent minibatches of stochastic SAST
        model.train()
        t0 = time.perf_counter()
        losses, accs, passes = [], [], 0
        batches = range(0, n, cfg.batch_size)
        for b in tqdm(batches, desc=f"epoch {epoch + 1}/{cfg.epochs}", disable=not progress, leave=False):
            x, y = _global_batch(train_cache, order[b : b + cfg.batch_size].tolist(), gen, d, aug)
            x, y = x.to(device), y.to(device)
            loss, acc = loss_and_acc(model, x, y, train_mode, cfg.hard_loss)
            loss.backward()
            passes += 1
            if cfg.method == "sast":
                optimizer.first_step()
                if cfg.second_batch:
                    x, y = _global_batch(train_cache, second[b : b + cfg.batch_size].tolist(), gen, d, aug)
                    x, y = x.to(device), y.to(device)
                loss2, _ = loss_and_acc(model, x, y, train_mode, cfg.hard_loss)  # fresh neuron state inside forward
                loss2.backward()
                passes += 1
                optimizer.second_step()
            else:
                optimizer.step()
                optimizer.zero_grad()
            losses.append(loss.item())
            accs.append(acc)
        seconds = time.perf_counter() - t0
        line = {
            "epoch": epoch + 1,
            "loss": sum(losses) / len(losses),
            "train_acc": sum(accs) / len(accs),
            "test_acc_surrogate": evaluate_accuracy(net, test_cache, "surrogate", device),
            "test_acc_hard": evaluate_accuracy(net, test_cache, "hard", device),
            "epoch_seconds": seconds,
            "gradient_passes": passes,
        }
        if val_cache is not None:
            line["val_acc_hard"] = evaluate_accuracy(net, val_cache, "hard", device)
        history.append(line)
        if d.main:  # one writer; the weights are identical on every rank
            save_checkpoint(last, net, run_info(), base)
            write_log(out, history)  # after the checkpoint, from its history: a kill in between loses nothing
        distributed.barrier(d)
    final = history[-1] if history else {}
    if d.main:
        info = run_info()
        if val_cache is not None:  # calibrated confidences and the no-gesture gate, chosen on validation only
            decision, figures = calibrate(net, mcfg, val_cache, val_what, device)
            info |= {"decision": decision.to_dict(), "calibration": figures}
            final = dict(final, **{f"val_{k}": v for k, v in figures.items()})
        save_checkpoint(out / "model", net, info)
    distributed.teardown(d)
    return final
