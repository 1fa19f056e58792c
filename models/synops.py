"""The SynOps formula (DESIGN.md §7) for the float networks: every spike, input events included, times the
number of synapses it drives. The evaluation report and the live float backend both count with it; the integer
simulator counts the same quantity in its kernels. Each is tested against a dense count of its own.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from models.networks import SpikingConvNet


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
