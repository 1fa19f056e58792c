"""Pure metric functions used by the evaluation report: calibration, spike rates and SynOps of the float model
(the SynOps formula itself is :mod:`models.synops`); a metric's mean, std and 95 % interval over seeds (the sweeps
of :mod:`training.studies` and :mod:`training.convex.compare`)."""

from __future__ import annotations

import math

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


# -- over seeds ------------------------------------------------------------------------------------------
def interval(values) -> dict:
    """Mean, sample std and the half-width of the 95 % t-interval of the mean (None for one value)."""
    from scipy import stats

    v = np.asarray(values, np.float64)
    n = len(v)
    if n == 0:
        return {"n": 0, "mean": None, "std": None, "ci95": None}
    if n == 1:
        return {"n": 1, "mean": float(v[0]), "std": None, "ci95": None}
    std = float(v.std(ddof=1))
    return {"n": n, "mean": float(v.mean()), "std": std,
            "ci95": float(stats.t.ppf(0.975, n - 1) * std / math.sqrt(n))}


def fmt(s: dict | None, scale: float = 1.0, digits: int = 3) -> str:
    """``mean ± std [± ci]`` of an :func:`interval` (just the mean for one seed)."""
    if not s or s.get("mean") is None:
        return "—"
    if s["std"] is None:
        return f"{s['mean'] * scale:.{digits}f}"
    return f"{s['mean'] * scale:.{digits}f} ± {s['std'] * scale:.{digits}f} (±{s['ci95'] * scale:.{digits}f})"
