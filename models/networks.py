"""Convolutional LIF networks for N-MNIST (34×34×2) and gestures (128×128 pooled to 32×32×2).

Tensors are time-first: input ``(T, B, 2, H, W)`` event-count frames. Each hidden layer is a bias-free
strided convolution followed by LIF neurons (strided convolutions instead of pooling keep every layer's
output binary at deployment, as a sensor's integer simulator needs). The readout is a non-spiking linear
layer whose membrane accumulates over time; logits = the mean over time of ``W · s[t]``.

Sizes are chosen for on-sensor memory: see :func:`model_summary` (N-MNIST 29,976 weights; gestures 35,616 with
12 outputs — 30 kB / 36 kB at INT8, within a 64 kB budget; the first gesture models had a 32-channel last layer,
19,744 weights).

The configs (and why their defaults are what they are) live in :mod:`models.config`, which needs no torch.
"""

from __future__ import annotations

import torch
from torch import nn

from models.config import SNNConfig
from models.neurons import LIFState, initial_state, lif_step


class SpikingConvNet(nn.Module):
    """Owns the weights; the dynamics are :func:`models.neurons.lif_step` applied layer by layer."""

    def __init__(self, cfg: SNNConfig):
        super().__init__()
        self.cfg = cfg
        convs, c, (h, w) = [], cfg.in_channels, cfg.in_size
        for spec in cfg.layers:
            convs.append(nn.Conv2d(c, spec.out_channels, spec.kernel, spec.stride, spec.padding, bias=False))
            c, h, w = spec.out_channels, spec.out_size(h), spec.out_size(w)
        self.convs = nn.ModuleList(convs)
        self.readout = nn.Linear(c * h * w, cfg.n_classes, bias=cfg.readout_bias)
        if cfg.readout_bias:
            nn.init.zeros_(self.readout.bias)  # no preference until the data give one
        self.feature_shape = (c, h, w)
        self.tie_readout()

    def tie_readout(self) -> None:
        """With ``cfg.readout_tied``: set every position's readout weight of a channel to their mean (in place; a
        projection training applies after each step, so the stored weights always are the tied ones)."""
        if not self.cfg.readout_tied:
            return
        c, h, w = self.feature_shape
        with torch.no_grad():
            wt = self.readout.weight
            wt.copy_(wt.view(wt.shape[0], c, h * w).mean(-1, keepdim=True).expand(-1, c, h * w).reshape(wt.shape))

    def forward(self, x: torch.Tensor, mode: str = "surrogate", record: bool = False):
        """x (T, B, C, H, W) → logits (B, n_classes); with ``record``, also per-layer spikes (T, B, …)."""
        if x.dim() != 5:
            raise ValueError(f"input must be (T, B, C, H, W), got {tuple(x.shape)}")
        p = self.cfg.neuron
        states: list[LIFState | None] = [None] * len(self.convs)
        acc = 0.0
        spikes: list[list[torch.Tensor]] = [[] for _ in self.convs]
        for t in range(x.shape[0]):
            s = x[t]
            for k, conv in enumerate(self.convs):
                i_in = conv(s)
                if states[k] is None:
                    states[k] = initial_state(i_in)  # fresh state on every forward pass
                s, states[k] = lif_step(i_in, states[k], p, mode)
                if record:
                    spikes[k].append(s)
            acc = acc + self.readout(s.flatten(1))
        logits = acc / x.shape[0]
        if record:
            return logits, [torch.stack(layer) for layer in spikes]
        return logits


def build_model(cfg):
    """Rebuild a network from its config (or the config's JSON dict): a :class:`SpikingConvNet`, or the
    convex reconstruction's :class:`models.sequence_net.ParallelLIFNet` when the config says ``kind: parallel``."""
    from models.config import KIND, ParallelConfig
    from models.sequence_net import build_parallel

    if isinstance(cfg, ParallelConfig) or (isinstance(cfg, dict) and cfg.get("kind") == KIND):
        return build_parallel(cfg)
    return SpikingConvNet(cfg if isinstance(cfg, SNNConfig) else SNNConfig.from_dict(cfg))


def model_summary(model: SpikingConvNet) -> dict:
    """Parameter count, weight bytes at INT8/INT4 and per-layer shapes."""
    n = sum(p.numel() for p in model.parameters())
    return {"parameters": n, "int8_bytes": n, "int4_bytes": (n + 1) // 2,
            "feature_shape": model.feature_shape, "layers": [tuple(c.weight.shape) for c in model.convs]}
