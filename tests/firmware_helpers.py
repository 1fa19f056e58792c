"""Random integer networks and inputs for the firmware simulator tests."""

from __future__ import annotations

import numpy as np

from firmware_sim.fixed_point import WEIGHT_QMAX, Leak, int_range
from firmware_sim.model_file import ConvLayer, FirmwareModel
from models.config import conv_out


def random_model(rng: np.random.Generator, in_hw=(9, 11), specs=((4, 3, 2, 1), (5, 5, 1, 2), (3, 3, 2, 0)),
                 weight_bits=8, membrane_bits=16, frac_bits=0, leak: Leak | None = None, n_classes=4,
                 theta_range=(20, 300), bias: bool = False) -> FirmwareModel:
    """A network with the given ``(C_out, k, stride, pad)`` layers and weights/thresholds drawn from ``rng``;
    ``bias`` adds a per-bin readout bias (a few readout weights' worth, either sign)."""
    leak = leak or Leak("multiply", 205)
    qmax = WEIGHT_QMAX[weight_bits]
    c, (h, w) = 2, in_hw
    layers = []
    vmax = int_range(membrane_bits)[1]
    for co, k, s, p in specs:
        out = (co, conv_out(h, k, s, p), conv_out(w, k, s, p))
        weights = rng.integers(-qmax, qmax + 1, size=(co, c, k, k)).astype(np.int16)
        lo, hi = theta_range
        theta = rng.integers(min(lo, vmax), min(hi, vmax) + 1, size=co).astype(np.int64)
        layers.append(ConvLayer((c, h, w), out, k, s, p, weights, np.full(co, 0.01), theta))
        c, h, w = out
    readout = rng.integers(-qmax, qmax + 1, size=(n_classes, c * h * w)).astype(np.int16)
    readout_bias = rng.integers(-4 * qmax, 4 * qmax + 1, size=n_classes).astype(np.int64) if bias else None
    return FirmwareModel("random", tuple(f"c{i}" for i in range(n_classes)), weight_bits, True, membrane_bits,
                         frac_bits, leak, tuple(layers), readout, 0.01, (in_hw[1], in_hw[0]), 1000, 10, 0.8, 1.0, {},
                         readout_bias=readout_bias)


def random_frames(rng: np.random.Generator, model: FirmwareModel, steps: int, rate: float = 0.4,
                  burst: bool = False) -> np.ndarray:
    """Poisson event counts ``(steps, 2, H, W)`` uint8; ``burst`` adds pixels at the 255 saturation edge."""
    c, h, w = model.in_shape
    frames = np.minimum(rng.poisson(rate, size=(steps, c, h, w)), 255).astype(np.uint8)
    if burst:
        frames[rng.random(frames.shape) < 0.02] = 255
    return frames
