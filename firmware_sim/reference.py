"""Pure-NumPy reference of the integer simulator: dense and vectorised, written independently of the kernels.

Where the kernel scatters each active input into its fan-out, this gathers: the input is zero-padded and,
for each kernel tap, a strided slice ``(H_out, W_out, C_in)`` is multiplied by that tap's ``(C_in, C_out)``
weights. SynOps come from the same slices: the input mass under each tap times ``C_out``. Integer sums do
not depend on order, so the two must agree bit for bit (tested).
"""

from __future__ import annotations

import numpy as np

from firmware_sim.fixed_point import LEAK_FORMS, Leak, leak_array
from firmware_sim.packing import Packed


def _conv_dense(x: np.ndarray, w: np.ndarray, k: int, stride: int, pad: int, h_out: int, w_out: int):
    """x (H, W, C_in) int64, w (k, k, C_in, C_out) → (current (H_out, W_out, C_out), synops)."""
    xp = np.pad(x, ((pad, pad), (pad, pad), (0, 0)))
    # the padded input may be shorter than the taps reach on the far side: pad further with zeros
    need_h, need_w = k + stride * (h_out - 1), k + stride * (w_out - 1)
    xp = np.pad(xp, ((0, max(0, need_h - xp.shape[0])), (0, max(0, need_w - xp.shape[1])), (0, 0)))
    current = np.zeros((h_out, w_out, w.shape[3]), dtype=np.int64)
    synops = 0
    for ky in range(k):
        for kx in range(k):
            patch = xp[ky:ky + stride * (h_out - 1) + 1:stride, kx:kx + stride * (w_out - 1) + 1:stride, :]
            current += patch @ w[ky, kx]
            synops += int(patch.sum()) * w.shape[3]
    return current, synops


def run_reference(frames: np.ndarray, packed: Packed, v: np.ndarray, s: np.ndarray, acc: np.ndarray,
                  channels: np.ndarray, cells: np.ndarray):
    """Same contract as :func:`firmware_sim.kernels.run_steps`; returns ``(spikes, synops, saturations)``."""
    p = packed
    leak = Leak(LEAK_FORMS[p.leak_form], p.leak_param, p.leak_shift)
    n_layers = len(p.geom)
    spikes = np.zeros((len(frames), n_layers), dtype=np.int64)
    synops = np.zeros((len(frames), n_layers + 1), dtype=np.int64)
    sat = np.zeros(n_layers + 1, dtype=np.int64)
    for t in range(len(frames)):
        x = frames[t].astype(np.int64).transpose(1, 2, 0)  # (H, W, 2)
        for layer, g in enumerate(p.geom):
            ci, _, _, co, ho, wo, k, stride, pad, w_off, n_off, t_off = (int(a) for a in g[:12])
            w = p.weights[w_off:w_off + k * k * ci * co].reshape(k, k, ci, co)
            current, synops[t, layer] = _conv_dense(x, w, k, stride, pad, ho, wo)
            sl = slice(n_off, n_off + ho * wo * co)
            vv = np.where(s[sl] != 0, 0, leak_array(v[sl], leak)) + current.ravel() * (1 << p.frac_bits)
            sat[layer] += int(np.count_nonzero((vv > p.vmax) | (vv < p.vmin)))
            vv = np.clip(vv, p.vmin, p.vmax)
            fired = vv >= np.tile(p.theta_channel[t_off:t_off + co], ho * wo)
            v[sl], s[sl] = vv, fired
            spikes[t, layer] = int(fired.sum())
            x = fired.reshape(ho, wo, co).astype(np.int64)
        channels += x.reshape(-1, x.shape[-1]).sum(0)  # the last layer's spikes per channel
        cells += x.reshape(-1, x.shape[-1]).sum(1)  # and per position (h·W + w), over its channels
        feats = x.ravel()
        synops[t, n_layers] = int(feats.sum()) * p.readout.shape[1]
        a = acc + (feats @ p.readout + p.readout_bias)
        sat[n_layers] += int(np.count_nonzero((a > p.amax) | (a < p.amin)))
        acc[:] = np.clip(a, p.amin, p.amax)
    return spikes, synops, sat
