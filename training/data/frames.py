"""Event samples → time-first frame tensors for the networks, with the same binning as the live pipeline.

A sample goes through the network's input filter first (``refractory_us``, as the live pipeline runs it), then
is binned once over its whole length (``bin_us`` bins from t = 0, pooled to the model's input
size, uint8 saturating counts) and cached; a model window of ``n_bins`` is then cut from it: at a seeded
random offset for training, centred for evaluation (N-MNIST samples are exactly one window long).
"""

from __future__ import annotations

import numpy as np
import torch

from models.config import SNNConfig
from sast_live.transforms.binning import bin_window
from sast_live.transforms.config import RefractoryConfig
from sast_live.transforms.filters import refractory


def input_filter(events: np.ndarray, cfg: SNNConfig) -> np.ndarray:
    """The events the network is trained to read: the refractory filter of ``cfg.refractory_us`` (fresh state)."""
    if not getattr(cfg, "refractory_us", 0) or not len(events):
        return events
    return refractory(events, None, RefractoryConfig(tuple(cfg.sensor_size), cfg.refractory_us))[0]


def full_frames(events: np.ndarray, cfg: SNNConfig) -> np.ndarray:
    """All bins of one sample from t = 0: ``(max(n_bins, ⌈t_last / bin_us⌉), 2, H, W)`` uint8, filtered."""
    events = input_filter(events, cfg)
    t_last = int(events["t"][-1]) if len(events) else 0
    n = max(cfg.n_bins, t_last // cfg.bin_us + 1)
    return bin_window(events, cfg.bin_config(), 0, n)


class FrameCache:
    """Binned samples of a dataset, computed once (progress shown by the caller)."""

    def __init__(self, dataset, cfg: SNNConfig, progress: bool = False, transform=None):
        """``transform(events, index) -> events`` (e.g. a seeded corruption) is applied before binning."""
        from tqdm import tqdm

        self.cfg = cfg
        self.labels = torch.tensor(dataset.labels, dtype=torch.long)
        self.frames = []
        for i in tqdm(range(len(dataset)), desc=f"binning {dataset.name}", disable=not progress):
            events = dataset[i][0]
            self.frames.append(full_frames(events if transform is None else transform(events, i), cfg))

    def __len__(self) -> int:
        return len(self.frames)

    def subset(self, indices) -> FrameCache:
        """A cache of the samples ``indices`` (frames shared, not copied)."""
        out = object.__new__(FrameCache)
        out.cfg = self.cfg
        out.frames = [self.frames[int(i)] for i in indices]
        out.labels = self.labels[torch.as_tensor(np.asarray(indices, dtype=np.int64))]
        return out

    def batches(self, batch_size: int = 64):
        """Consecutive centred-window batches ``(x, labels)`` covering the whole split, in order."""
        for start in range(0, len(self), batch_size):
            yield self.batch(range(start, min(start + batch_size, len(self))))

    def draw_offsets(self, indices, generator: torch.Generator) -> list[int]:
        """Random window starts for ``indices`` (one draw per sample, in order, from ``generator``)."""
        out = []
        for i in indices:
            span = len(self.frames[int(i)]) - self.cfg.n_bins
            out.append(int(torch.randint(0, span + 1, (1,), generator=generator)) if span > 0 else 0)
        return out

    def centre(self, i: int) -> int:
        """Start of sample ``i``'s evaluation window: the middle ``n_bins`` of its bins."""
        return (len(self.frames[i]) - self.cfg.n_bins) // 2

    def windows(self) -> np.ndarray:
        """All centred evaluation windows as ``(N, T, 2, H, W)`` uint8 (the integer simulator's input)."""
        T = self.cfg.n_bins
        return np.stack([f[self.centre(i):self.centre(i) + T] for i, f in enumerate(self.frames)])

    def batch(self, indices, offsets=None) -> tuple[torch.Tensor, torch.Tensor]:
        """``(x (T, B, 2, H, W) float32, labels (B,))``; windows start at ``offsets`` (default: centred)."""
        T = self.cfg.n_bins
        out = np.empty((len(indices), T, *self.frames[0].shape[1:]), dtype=np.float32)
        for j, i in enumerate(indices):
            f = self.frames[int(i)]
            off = self.centre(int(i)) if offsets is None else int(offsets[j])
            out[j] = f[off : off + T]
        x = torch.from_numpy(out).transpose(0, 1).contiguous()
        return x, self.labels[torch.as_tensor(np.asarray(indices, dtype=np.int64))]
