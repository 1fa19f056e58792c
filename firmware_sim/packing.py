"""A :class:`FirmwareModel` flattened into the contiguous integer arrays the kernels (and the C code) walk.

:class:`Packed` holds only arrays and integers, so the numba kernels take it whole (a NamedTuple is passed to
numba by value, its fields read by name at no cost); :class:`Scratch` is the kernels' working memory.

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
(G_CIN, G_HIN, G_WIN, G_COUT, G_HOUT, G_WOUT, G_K, G_STRIDE, G_PAD, G_WOFF, G_NOFF, G_TOFF, G_FOFF) = range(13)
#: largest input count per pixel and bin (uint8 frames)
MAX_COUNT = 255


class Packed(NamedTuple):
    geom: np.ndarray  # int64 (L, 13): geometry and offsets of each conv layer
    weights: np.ndarray  # int32/int64 (Σ k²·C_in·C_out,) in (ky, kx, C_in, C_out) order per layer
    fan_ptr: np.ndarray  # int64 (Σ (H_in·W_in + 1),): per input position, its range in fan_out/fan_w
    fan_out: np.ndarray  # int64: output base index (oy·W_out + ox)·C_out of each in-bounds tap
    fan_w: np.ndarray  # int64: weight base index w_off + (ky·k + kx)·C_in·C_out of the same tap
    theta: np.ndarray  # int64 (N,): each neuron's threshold (its channel's), in neuron order
    theta_channel: np.ndarray  # int64 (Σ C_out,): the thresholds per channel (reference and C use these)
    readout: np.ndarray  # int64 (F, n_classes), F in (H, W, C) order
    readout_bias: np.ndarray  # int64 (n_classes,) added to the accumulators every bin
    n_neurons: int
    leak_form: int  # fixed_point.LEAK_MULTIPLY or LEAK_SHIFT
    leak_param: int  # m (multiply) or k (shift)
    leak_shift: int  # denominator bits of the multiply form
    frac_bits: int
    vmin: int
    vmax: int
    amin: int  # readout accumulator range
    amax: int


def _fan_out(layer, w_off: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For each input position (y, x): the in-bounds taps as (output base, weight base) pairs."""
    (ci, hi, wi), (co, ho, wo), k, s, p = layer.in_shape, layer.out_shape, layer.kernel, layer.stride, layer.padding
    ptr, outs, ws = [0], [], []
    for y in range(hi):
        for x in range(wi):
            for ky in range(k):
                oyn = y + p - ky
                if oyn < 0 or oyn % s or oyn // s >= ho:
                    continue
                for kx in range(k):
                    oxn = x + p - kx
                    if oxn < 0 or oxn % s or oxn // s >= wo:
                        continue
                    outs.append((oyn // s * wo + oxn // s) * co)
                    ws.append(w_off + (ky * k + kx) * ci * co)
            ptr.append(len(outs))
    return np.asarray(ptr, np.int64), np.asarray(outs, np.int64), np.asarray(ws, np.int64)


def pack(model: FirmwareModel) -> Packed:
    geom, weights, theta, theta_ch, fans = [], [], [], [], []
    w_off = n_off = t_off = f_off = e_off = 0
    # the step's synaptic sum fits int32 (twice the SIMD lanes of int64) when its worst case does
    worst = max(MAX_COUNT * int(np.abs(layer.weights).astype(np.int64).sum(axis=(1, 2, 3)).max())
                for layer in model.layers)
    wdtype = np.int32 if worst < 2**31 else np.int64
    for layer in model.layers:
        (ci, hi, wi), (co, ho, wo) = layer.in_shape, layer.out_shape
        geom.append((ci, hi, wi, co, ho, wo, layer.kernel, layer.stride, layer.padding, w_off, n_off, t_off, f_off))
        weights.append(layer.weights.astype(wdtype).transpose(2, 3, 1, 0).ravel())
        theta.append(np.tile(layer.theta.astype(np.int64), ho * wo))  # per neuron, (H, W, C) order
        theta_ch.append(layer.theta.astype(np.int64))
        ptr, outs, ws = _fan_out(layer, w_off)
        fans.append((ptr + e_off, outs, ws))
        w_off += layer.weights.size
        n_off += layer.n_neurons
        t_off += co
        f_off += len(ptr)
        e_off += len(outs)
    c, h, w = model.layers[-1].out_shape
    ro = model.readout.astype(np.int64).reshape(-1, c, h, w).transpose(2, 3, 1, 0).reshape(h * w * c, -1)
    vmin, vmax = int_range(model.membrane_bits)
    amin, amax = int_range(READOUT_BITS)
    return Packed(np.asarray(geom, dtype=np.int64), np.concatenate(weights),
                  np.concatenate([f[0] for f in fans]), np.concatenate([f[1] for f in fans]),
                  np.concatenate([f[2] for f in fans]), np.concatenate(theta), np.concatenate(theta_ch),
                  np.ascontiguousarray(ro), np.ascontiguousarray(model.bias), n_off, model.leak.form_id,
                  model.leak.param, model.leak.shift, model.frac_bits, vmin, vmax, amin, amax)


class Scratch(NamedTuple):
    """Working memory of the kernels for one packed model (allocated once per simulator, overwritten per step)."""

    active: np.ndarray  # int64: the active inputs (or the neurons that fired) of the layer at hand, (H, W, C) index
    counts: np.ndarray  # int64: their event counts (1 for a spike)
    current: np.ndarray  # weights' dtype: the synaptic input of one layer's neurons
    ro_sum: np.ndarray  # int64 (n_classes,): the readout's input of one step


def scratch(packed: Packed, in_shape: tuple[int, int, int]) -> Scratch:
    """Buffers large enough for the largest layer and for the input ``(C, H, W)``."""
    g = packed.geom
    largest = int((g[:, G_COUT] * g[:, G_HOUT] * g[:, G_WOUT]).max())
    longest = max(int(np.prod(in_shape)), largest) + 1
    return Scratch(np.zeros(longest, np.int64), np.zeros(longest, np.int64),
                   np.zeros(largest, packed.weights.dtype), np.zeros(packed.readout.shape[1], np.int64))
