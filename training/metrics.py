"""Pure metric functions used by the evaluation report: calibration, spike rates and SynOps of the float model
(the SynOps formula itself is :mod:`models.synops`)."""

from __future__ import annotations

import numpy as np
import torch

from models.networks import SpikingConvNet
from models.synops import fanout_maps, synops_per_layer


def expected_calibration_error(probs: np.ndarray, labels: np.ndarray, n_bins: int = 15) -> tuple[float, dict]:
    """ECE with equal-width confidence bins; also the reliability table (per bin: confidence, accuracy, n)."""
    conf = probs.max(1)
    pred = probs.argmax(1)
    correct = (pred == labels).astype(np.float64)
    edges = np.linspace(0, 1, n_bins + 1)
    table = {"edges": edges.tolist(), "confidence": [], "accuracy": [], "count": []}
    ece = 0.0
    for lo, hi in zip(edges[:-1], edges[1:], strict=True):
        m = (conf > lo) & (conf <= hi)
        n = int(m.sum())
        table["count"].append(n)
        table["confidence"].append(float(conf[m].mean()) if n else None)
        table["accuracy"].append(float(correct[m].mean()) if n else None)
        if n:
            ece += n / len(conf) * abs(conf[m].mean() - correct[m].mean())
    return float(ece), table


@torch.no_grad()
def spike_stats(model: SpikingConvNet, x: torch.Tensor, mode: str = "hard") -> dict:
    """Per-layer spike rates (spikes per neuron per step) and SynOps per sample for inputs x (T, B, C, H, W).

    SynOps count every spike, input events included, times the synapses it drives (DESIGN.md §7).
    """
    _, spikes = model(x, mode, record=True)
    batch = x.shape[1]
    synops = [v / batch for v in synops_per_layer(x, spikes, fanout_maps(model))]
    rates = [float(s.mean()) for s in spikes]
    return {"spike_rate": rates, "synops_per_layer": synops, "synops_per_sample": float(sum(synops))}
