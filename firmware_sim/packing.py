"""A :class:`FirmwareModel` flattened into the contiguous integer arrays the kernels (and the C code) walk.

Neurons are stored channel-last, ``(H, W, C)``, so that one input spike's fan-out over the output channels
is a contiguous run of weights and membranes. Conv weights are re-laid ``(ky, kx, C_in, C_out)``; the
readout ``(F, n_classes)`` with ``F`` in the same ``(H, W, C)`` order (PyTorch flattens ``(C, H, W)``, so the
rows are permuted once here).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from firmware_sim.fixed_point import READOUT_BITS, int_range
from firmware_sim.model_file import FirmwareModel

#: columns of ``Packed.geom``
(G_CIN, G_HIN, G_WIN, G_COUT, G_HOUT, G_WOUT, G_K, G_STRIDE, G_PAD, G_WOFF, G_NOFF, G_TOFF) = range(12)


class Packed(NamedTuple):
    geom: np.ndarray  # int64 (L, 12): geometry and offsets of each conv layer
    weights: np.ndarray  # int64 (Σ k²·C_in·C_out,) in (ky, kx, C_in, C_out) order per layer
    theta: np.ndarray  # int64 (Σ C_out,)
    readout: np.ndarray  # int64 (F, n_classes), F in (H, W, C) order
    n_neurons: int
    leak_form: int
    leak_param: int
    leak_shift: int
    frac_bits: int
    vmin: int
    vmax: int
    amin: int  # readout accumulator range
    amax: int


def pack(model: FirmwareModel) -> Packed:
    geom, weights, theta = [], [], []
    w_off = n_off = t_off = 0
    for layer in model.layers:
        (ci, hi, wi), (co, ho, wo) = layer.in_shape, layer.out_shape
        geom.append((ci, hi, wi, co, ho, wo, layer.kernel, layer.stride, layer.padding, w_off, n_off, t_off))
        weights.append(layer.weights.astype(np.int64).transpose(2, 3, 1, 0).ravel())
        theta.append(layer.theta.astype(np.int64))
        w_off += layer.weights.size
        n_off += layer.n_neurons
        t_off += co
    c, h, w = model.layers[-1].out_shape
    ro = model.readout.astype(np.int64).reshape(-1, c, h, w).transpose(2, 3, 1, 0).reshape(h * w * c, -1)
    vmin, vmax = int_range(model.membrane_bits)
    amin, amax = int_range(READOUT_BITS)
    return Packed(np.asarray(geom, dtype=np.int64), np.concatenate(weights), np.concatenate(theta),
                  np.ascontiguousarray(ro), n_off, model.leak.form_id, model.leak.param, model.leak.shift,
                  model.frac_bits, vmin, vmax, amin, amax)
