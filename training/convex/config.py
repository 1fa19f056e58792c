"""What a convex reconstruction run (and the sequence tasks' SG baseline) is asked to do: :class:`ReconConfig`, whose
field defaults are the only ones (the CLI's options take theirs from here). No torch at import: ``--help`` reads it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields

from sast_live.errors import SastLiveError

METHODS = ("cvx", "sg-cvx")
LOSSES = ("ce", "hinge", "squared")  # the convex losses of training.convex.solvers
#: the default beta path, as fractions of beta_max (the smallest beta at which W = 0 is optimal)
BETA_FRACTIONS = (0.3, 0.1, 0.03, 0.01, 0.003)


@dataclass(frozen=True)
class ReconConfig:
    dataset: str = "nmnist-real"  # an event dataset (nmnist, nmnist-real, gestures, folder) or a sequence task
    data_dir: str | None = None
    method: str = "cvx"
    witness_from: str | None = None  # sg-cvx: the checkpoint whose hidden weights are the witness
    loss: str = "ce"
    betas: tuple[float, ...] = ()  # empty: beta_max × BETA_FRACTIONS
    tol: float = 1e-4  # relative duality gap at which a solve stops
    max_iter: int = 2000  # proximal steps per beta
    witness_rate: float = 0.1  # cvx: each Gaussian layer's calibrated mean spike rate
    dictionary: str = "hard"  # event networks: hard | int8 | int4 (which deployed simulator computes D)
    features: str = "spike"  # parallel networks: spike | membrane | count
    branches: int = 1024  # parallel networks: K
    widths: tuple[int, ...] = (4, 1)  # parallel networks: each branch's layer widths
    tau: float = 0.9  # parallel networks' leak
    length: int | None = None  # sequence tasks: T (xor, smnist) or digits (addition)
    n_train: int = 4000  # sequence tasks: training sequences (validation: a quarter as many more)
    n_test: int = 1000
    n_bins: int | None = None  # event networks: window length override
    limit_train: int | None = None
    limit_test: int | None = None
    val_every: int = 5  # event datasets: every k-th training sample validates beta
    finetune_epochs: int = 0  # > 0: surrogate-gradient fine-tuning from the reconstruction (the hybrid)
    lr: float = 1e-4  # the fine-tuning's learning rate (small: SG from the reconstruction keeps its accuracy)
    seed: int = 0
    out: str = "runs/cvx"
    progress: bool = True

    def __post_init__(self):
        from training.convex.tasks import is_task

        if self.method not in METHODS:
            raise SastLiveError(f"reconstruction method must be one of {METHODS}, got {self.method!r}")
        if self.method == "sg-cvx" and not self.witness_from:
            raise SastLiveError("sg-cvx needs --witness-from CKPT (a trained checkpoint whose hidden weights to keep)")
        if self.loss not in LOSSES:
            raise SastLiveError(f"loss must be one of {LOSSES}, got {self.loss!r}")
        if any(not (b > 0 and math.isfinite(b)) for b in self.betas):
            raise SastLiveError(f"every beta must be a positive number, got {list(self.betas)}")
        if self.tol <= 0 or self.max_iter < 1 or self.val_every < 2 or self.finetune_epochs < 0:
            raise SastLiveError("need tol > 0, max_iter ≥ 1, val_every ≥ 2 and finetune_epochs ≥ 0")
        if is_task(self.dataset) and (self.n_train < 1 or self.n_test < 1):
            raise SastLiveError(f"--n-train and --n-test must be at least 1, got {self.n_train} and {self.n_test}")
        if is_task(self.dataset) and self.dictionary != "hard":
            raise SastLiveError("--dictionary int8|int4 is for the event networks (the sequence tasks' parallel "
                                "network has no integer simulator)")


#: every field's default, by name (the parser's help text and defaults)
RECON_DEFAULTS = {f.name: f.default for f in fields(ReconConfig)}
