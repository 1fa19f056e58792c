"""Pure metric functions used by the evaluation report: calibration, spike rates, SynOps of the float model."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from models.networks import SpikingConvNet


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


def fanout_maps(model: SpikingConvNet) -> list[torch.Tensor]:
    """Synapses driven by one spike at each input position of each layer: list of (H, W) tensors
    (× out_channels already applied); the readout's map is a scalar tensor (n_classes)."""
    maps = []
    h, w = model.cfg.in_size
    for conv in model.convs:
        ones_in = torch.ones(1, 1, h, w)
        k = torch.ones(1, 1, *conv.kernel_size)
        out = F.conv2d(ones_in, k, stride=conv.stride, padding=conv.padding)
        # how many output positions each input pixel feeds = transpose of the all-ones output map
        cover = F.conv_transpose2d(torch.ones_like(out), k, stride=conv.stride, padding=conv.padding,
                                   output_padding=_output_padding(h, w, out.shape[-2:], conv))
        maps.append(cover[0, 0] * conv.out_channels)
        h, w = out.shape[-2:]
    maps.append(torch.tensor(float(model.cfg.n_classes)))
    return maps


def _output_padding(h, w, out_hw, conv):
    oh, ow = out_hw
    ph = h - ((oh - 1) * conv.stride[0] - 2 * conv.padding[0] + conv.kernel_size[0])
    pw = w - ((ow - 1) * conv.stride[1] - 2 * conv.padding[1] + conv.kernel_size[1])
    return (ph, pw)


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


def synops_per_layer(x: torch.Tensor, spikes: list[torch.Tensor], maps: list[torch.Tensor]) -> list[float]:
    """SynOps driven by the input ``x`` (…, C, H, W) and by each layer's ``spikes`` (…, C, H, W), summed over
    all leading dimensions (time, batch): each spike × the synapses it drives (``maps`` from :func:`fanout_maps`)."""
    def per_position(t: torch.Tensor) -> torch.Tensor:
        return t.sum(dim=tuple(range(t.dim() - 3))).sum(0)  # (H, W) spikes per input position

    out = [float((per_position(x) * maps[0]).sum())]
    for k, s in enumerate(spikes):
        nxt = maps[k + 1]
        out.append(float((per_position(s) * nxt).sum()) if nxt.dim() == 2 else float((s.sum() * nxt).sum()))
    return out
