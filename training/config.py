"""What a training run is asked to do: :class:`TrainConfig`, whose field defaults are the only ones (the CLI's
``train``/``sweep`` options take theirs from here, fine-tuning's few-shot defaults override them in
:mod:`training.finetune`). No torch: ``main.py --help`` reads it.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

from sast_live.errors import SastLiveError

METHODS = ("sast", "surrogate", "sg")
SCHEDULES = ("constant", "cosine")


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
    augment_geometry: bool = False  # augmentation: windows resized, turned, moved, re-timed (training.augment)
    geometry_each: bool = False  # ... each of those changes on its own half of the windows (GEOMETRY_EACH)
    geometry_wide: bool = False  # ... over wider ranges of size and place (GEOMETRY_WIDE)
    mirror: bool = False  # augmentation: half the windows mirrored left-right, their classes too (MIRROR_P)
    keep_old: int = 0  # fine-tuning: mix in this many training samples per class of the base model's own dataset
    keep_old_from: str | None = None  # ... or of this dataset (name or folder) instead
    freeze_features: bool = False  # train the readout only (the convolutions keep their weights)
    hard_loss: float = 0.0  # weight of the hard-spike (SG) forward pass in the loss (loss_and_acc), 0 = none
    channels: tuple[int, ...] | None = None  # output channels of each conv layer (default: the network's own;
    # with init_from: the checkpoint's followed by the layers to add)
    readout_tied: bool = False  # one readout weight per channel and class at every position (models.config)
    in_size: int | None = None  # input pixels a side (default: the network's own; training.networks.finer_config)
    outliers: str | None = None  # a dataset whose training windows are taught to be unsure (outlier exposure)
    outlier_weight: float = 0.5  # ... the weight of their loss (cross-entropy to the uniform distribution)

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
        if self.in_size is not None and self.in_size < 1:
            raise SastLiveError(f"--in-size must be a positive number of pixels, got {self.in_size}")
        if self.geometry_each and not self.augment_geometry:
            raise SastLiveError("--geometry-each says how --augment-geometry draws its changes; add --augment-geometry")
        if not self.outlier_weight > 0:
            raise SastLiveError(f"--outlier-weight must be > 0, got {self.outlier_weight}")
        if self.geometry_wide and not self.augment_geometry:
            raise SastLiveError("--geometry-wide says how --augment-geometry draws its changes; add --augment-geometry")


#: every field's default, by name (the parser's help text and what an option left unset means)
TRAIN_DEFAULTS = {f.name: f.default for f in fields(TrainConfig)}
