"""The spike dictionary: each sample's last-layer features, computed by the network that will be deployed.

For the event networks (:class:`models.networks.SpikingConvNet`) a feature is a last-layer neuron's spike
count over the window, stored as uint8; the solver sees ``count / T``, so the solved ``W`` *is* the deployed
readout (``logits = mean_t W·s[t] = W·count/T``). The counts come from

* ``precision="hard"`` — the float network with Heaviside spikes (its own forward pass), or
* ``precision="int8"|"int4"|"wide"`` — the integer on-sensor simulator (:mod:`firmware_sim`) running the quantized
  hidden layers, so the INT8 deployment computes exactly the features the convex program saw.

For the parallel sequence networks (:class:`models.sequence_net.ParallelLIFNet`) a row is a sample's features at
the last step, or, per step, one row per (sample, step). Spikes are stored as bits (``np.packbits``), counts
as uint8/uint16, membranes as float32; :meth:`Dictionary.floats` expands them only for the solver.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from firmware_sim.precisions import INTEGER
from sast_live.errors import SastLiveError

#: the networks that can compute a dictionary: the float model with hard spikes, or the integer simulator
#: (training/commands.py offers the same choices without importing torch)
PRECISIONS = ("hard", *INTEGER)


@dataclass(frozen=True)
class Dictionary:
    """``data``: (n, P) uint8/uint16 counts, (n, ⌈P/8⌉) packed bits, or (n, P) float32; feature value =
    stored value × ``scale``."""

    data: np.ndarray
    n_features: int
    storage: str  # "counts" | "bits" | "float"
    scale: float = 1.0

    def __len__(self) -> int:
        return len(self.data)

    @property
    def nbytes(self) -> int:
        return int(self.data.nbytes)

    def values(self) -> np.ndarray:
        """The stored values as (n, P) (bits unpacked, not yet scaled)."""
        if self.storage == "bits":
            return np.unpackbits(self.data, axis=1, count=self.n_features)
        return self.data

    def floats(self, dtype=torch.float64) -> torch.Tensor:
        """(n, P) features for the solver: the only float copy (scaled in place: a second one would double the
        largest array of a reconstruction for a moment)."""
        return self.floats_into(torch.empty((len(self), self.n_features), dtype=dtype))  # never the stored array

    def floats_into(self, out: torch.Tensor) -> torch.Tensor:
        """:meth:`floats` written into ``out`` ((n, P), a float tensor already allocated, e.g. a block of a larger
        one), so that several dictionaries can share one float array; returns ``out``."""
        out.copy_(torch.from_numpy(self.values()))
        return out.mul_(self.scale) if self.scale != 1.0 else out

    def float_nbytes(self, dtype=torch.float64) -> int:
        return len(self) * self.n_features * torch.empty((), dtype=dtype).element_size()


def _store_counts(counts: np.ndarray, scale: float) -> Dictionary:
    top = int(counts.max()) if counts.size else 0
    dtype = np.uint8 if top <= np.iinfo(np.uint8).max else np.uint16
    return Dictionary(counts.astype(dtype, copy=False), counts.shape[1], "counts", scale)


# --- event networks ---------------------------------------------------------------------------------------

@torch.no_grad()
def conv_counts_hard(model, x: torch.Tensor) -> np.ndarray:
    """x (T, B, 2, H, W) → last-layer spike counts (B, C·H·W) int64, in the readout's (C, H, W) order, from
    the float network's own hard-spike forward pass."""
    _, spikes = model(x, "hard", record=True)
    return spikes[-1].sum(0).flatten(1).to(torch.int64).numpy()


def conv_counts_integer(sim, windows: np.ndarray, progress: bool = False) -> np.ndarray:
    """windows (N, T, 2, H, W) uint8 → last-layer spike counts (N, C·H·W) from the integer simulator (fresh
    state per window; windows in parallel on the numba backend), in the readout's (C, H, W) order."""
    from firmware_sim.features import readout_order

    return readout_order(sim, sim.classify(windows, progress=progress, last_counts=True)["last_counts"])


def hidden_firmware(model, precision: str):
    """The integer simulator of ``model``'s hidden layers at ``precision`` (the readout is a placeholder: the
    dictionary never reads it)."""
    from firmware_sim.precisions import get_precision
    from firmware_sim.quantize import quantize
    from firmware_sim.simulator import Simulator

    weights = {f"model.{k}": v.detach().double().numpy() for k, v in model.state_dict().items()}
    weights["model.readout.weight"] = np.ones_like(weights["model.readout.weight"])
    meta = {"model_cfg": model.cfg.to_dict(), "train_cfg": {}}
    return Simulator(quantize(meta, weights, get_precision(precision, INTEGER).quant_config()))


def conv_dictionary(model, cache, precision: str = "hard", batch_size: int = 64, progress: bool = False) -> Dictionary:
    """The dictionary of a cached split's centred windows (``training.data.frames.FrameCache``)."""
    if precision not in PRECISIONS:
        raise SastLiveError(f"dictionary precision must be one of {PRECISIONS}, got {precision!r}")
    T = model.cfg.n_bins
    if precision == "hard":
        from tqdm import tqdm

        batches = tqdm(cache.batches(batch_size), total=-(-len(cache) // batch_size), desc="hard dictionary",
                       disable=not progress)
        counts = np.concatenate([conv_counts_hard(model, x) for x, _ in batches])
    else:
        counts = conv_counts_integer(hidden_firmware(model, precision), cache.windows(), progress)
    return _store_counts(counts, 1.0 / T)


# --- parallel sequence networks ---------------------------------------------------------------------------

@torch.no_grad()
def parallel_dictionary(model, x: np.ndarray | torch.Tensor, batch_size: int | None = None) -> Dictionary:
    """x (T, n, n_in) → rows (n, P) at the last step, or (n·T, P) sample-major when ``per_step``
    (row ``i·T + t`` = sample i at step t), from the network's own hard-spike forward pass, ``batch_size``
    sequences at a time (None: :func:`training.convex.memory.forward_batch`'s, which keeps a step's state in the
    cache; the rows do not depend on it)."""
    from training.convex.memory import forward_batch

    x = torch.as_tensor(x, dtype=torch.float32)
    cfg = model.cfg
    batch_size = batch_size or forward_batch(cfg.branches, cfg.widths, x.shape[1])
    # every batch is written straight into the array the rows are kept in (spikes 0/1, counts ≤ T: small
    # integers), allocated once: no list of batches, no float32 or int64 copy of the whole dictionary beside it, and
    # nothing the allocator keeps after it is freed
    T = x.shape[0]
    if cfg.features == "spike":
        keep = np.uint8
    elif cfg.features == "count":  # a count is at most T
        if T > np.iinfo(np.uint16).max:
            raise SastLiveError(f"count features of {T} steps do not fit 16 bits")
        keep = np.uint8 if T <= np.iinfo(np.uint8).max else np.uint16
    else:
        keep = np.float32
    per = T if cfg.per_step else 1  # rows per sequence
    values = np.empty((x.shape[1] * per, cfg.n_features), keep)
    for start in range(0, x.shape[1], batch_size):
        f = model.features(x[:, start:start + batch_size], "hard", last=not cfg.per_step)  # (T or 1, B, P)
        f = f.transpose(0, 1).reshape(-1, f.shape[2]) if cfg.per_step else f[-1]
        values[start * per:start * per + len(f)] = f.numpy()  # exact: spikes and counts are whole numbers
    if cfg.features == "spike":
        return Dictionary(np.packbits(values, axis=1), values.shape[1], "bits")
    if cfg.features == "count":
        return _store_counts(values, 1.0)
    return Dictionary(values, values.shape[1], "float")


def rows_labels(y: np.ndarray, per_step: bool) -> np.ndarray:
    """Labels in dictionary row order: (n,) as is; per step (T, n) → (n·T,) sample-major."""
    return np.ascontiguousarray(y.T).ravel() if per_step else y
