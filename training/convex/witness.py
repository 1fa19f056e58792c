"""Witnesses: the fixed hidden weights whose last-layer spikes form the dictionary.

* **CVX** — i.i.d. Gaussian weights. The branches have no bias and a fixed threshold, so the scale of a
  Gaussian layer decides whether it fires at all; each layer's scale is set (in order, by bisection on a
  calibration batch) so that its mean spike rate in hard mode is ``target_rate``. The draws themselves are
  the seeded standard normals; only one positive factor per layer is chosen.
* **SG-CVX** — the hidden weights of a trained checkpoint (surrogate gradient, SAST, …): the checkpoint's own
  network, whose readout is re-solved.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from sast_live.errors import SastLiveError


def hidden_weights(model) -> list[torch.nn.Parameter]:
    """The hidden (non-readout) weight tensors in layer order."""
    if hasattr(model, "convs"):
        return [conv.weight for conv in model.convs]
    return list(model.layers)


@torch.no_grad()
def layer_rates(model, x: torch.Tensor) -> list[float]:
    """Mean hard-mode spike rate of each hidden layer over ``x`` (all neurons, steps and samples)."""
    if hasattr(model, "convs"):
        _, spikes = model(x, "hard", record=True)
        return [float(s.mean()) for s in spikes]
    # summed step by step (T times less memory than recording), a batch of sequences at a time (each batch's rates
    # weighed by its size: the same mean)
    from training.convex.memory import forward_batch

    n = x.shape[1]
    b = forward_batch(model.cfg.branches, model.cfg.widths, n)
    parts = [(model.features(x[:, i:i + b], "hard", rates=True), min(b, n - i)) for i in range(0, n, b)]
    return [sum(r[k] * m for r, m in parts) / n for k in range(len(parts[0][0]))]


@torch.no_grad()
def gaussian_witness(model, x_calib: torch.Tensor, target_rate: float = 0.1, seed: int = 0,
                     steps: int = 16) -> dict:
    """Draw every hidden layer i.i.d. N(0, σ_l²) in place, σ_l calibrated to ``target_rate``.

    Returns ``{"sigma": [σ_l], "rate": [achieved rate_l]}``.
    """
    if not 0 < target_rate < 1:
        raise SastLiveError(f"the witness spike rate must be in (0, 1), got {target_rate}")
    gen = torch.Generator().manual_seed(seed)
    layers = hidden_weights(model)
    normals = [torch.randn(w.shape, generator=gen, dtype=w.dtype) for w in layers]
    sigmas = []
    for k, (w, z) in enumerate(zip(layers, normals, strict=True)):
        lo, hi = math.log(1e-4), math.log(1e4)
        for later in layers[k + 1:]:
            later.zero_()  # later layers do not affect this one's rate; keep them cheap and defined
        for _ in range(steps):  # bisection on log σ: the rate grows with σ
            mid = 0.5 * (lo + hi)
            w.copy_(z * math.exp(mid))
            if layer_rates(model, x_calib)[k] < target_rate:
                lo = mid
            else:
                hi = mid
        sigma = math.exp(0.5 * (lo + hi))
        w.copy_(z * sigma)
        sigmas.append(sigma)
    return {"sigma": sigmas, "rate": layer_rates(model, x_calib)}


def calibration_indices(n: int, k: int) -> np.ndarray:
    """``k`` evenly spread indices of ``n`` samples (deterministic; classes stay mixed in sorted datasets)."""
    return np.unique(np.linspace(0, n - 1, min(k, n)).round().astype(np.int64)) if n else np.zeros(0, np.int64)
