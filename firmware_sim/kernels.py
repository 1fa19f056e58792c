"""numba kernels of the integer simulator: time-stepped per bin, event-driven inside a step.

Per time step ``t`` and layer ``l`` (DESIGN.md §6–7, integer form of the SAST LIF):

    I    = Σ over active inputs i of n_i · w[i → j]          (64-bit, only active inputs touch their fan-out)
    v    = 0 if s_prev else leak(v)                          (hard reset by the previous step's spike)
    v    = saturate(v + I · 2^frac_bits, membrane_bits)       (clamps counted)
    s    = v ≥ theta[channel]

The readout adds the last layer's spikes' weights into a saturating 32-bit accumulator. SynOps: each input
event or spike times the synapses it drives (the in-bounds taps × output channels; classes at the readout).
All state is in the arrays passed in, updated in place, so a stream can be fed chunk by chunk.
"""

from __future__ import annotations

import numba
import numpy as np

from firmware_sim.fixed_point import leak_value


@numba.njit(nogil=True, cache=True)
def _scatter(inp, geom_row, weights, current):  # pragma: no cover - compiled
    """Add the fan-out of every non-zero entry of ``inp`` (H_in·W_in·C_in, HWC) into ``current``; SynOps."""
    c_in, h_in, w_in, c_out, h_out, w_out, k, stride, pad, w_off = geom_row[:10]
    synops = 0
    for y in range(h_in):
        for x in range(w_in):
            base_in = (y * w_in + x) * c_in
            for ci in range(c_in):
                n = np.int64(inp[base_in + ci])
                if n == 0:
                    continue
                for ky in range(k):
                    oyn = y + pad - ky
                    if oyn < 0 or oyn % stride != 0:
                        continue
                    oy = oyn // stride
                    if oy >= h_out:
                        continue
                    for kx in range(k):
                        oxn = x + pad - kx
                        if oxn < 0 or oxn % stride != 0:
                            continue
                        ox = oxn // stride
                        if ox >= w_out:
                            continue
                        wb = w_off + ((ky * k + kx) * c_in + ci) * c_out
                        cb = (oy * w_out + ox) * c_out
                        for co in range(c_out):
                            current[cb + co] += n * weights[wb + co]
                        synops += n * c_out
    return synops


@numba.njit(nogil=True, cache=True)
def run_steps(frames, geom, weights, theta, readout, leak_form, leak_param, leak_shift, frac_bits, vmin, vmax,
              amin, amax, v, s, acc, spikes, synops, saturations, inbuf, current, ro_sum):  # pragma: no cover
    """Run ``frames`` (T, 2, H, W) uint8 through the network, updating ``v``, ``s``, ``acc`` in place.

    Outputs (written, shape): ``spikes`` (T, L) spikes per layer, ``synops`` (T, L+1) per receiving layer
    (the readout last), ``saturations`` (L+1,) clamps added. ``inbuf``, ``current``, ``ro_sum`` are scratch.
    """
    n_layers = geom.shape[0]
    n_cls = readout.shape[1]
    mult = np.int64(1) << frac_bits
    h0, w0 = frames.shape[2], frames.shape[3]
    for t in range(frames.shape[0]):
        for y in range(h0):
            for x in range(w0):
                for c in range(2):
                    inbuf[(y * w0 + x) * 2 + c] = frames[t, c, y, x]
        for layer in range(n_layers):
            g = geom[layer]
            n_out = g[4] * g[5] * g[3]
            c_out, n_off, t_off = g[3], g[10], g[11]
            current[:n_out] = 0
            if layer == 0:
                synops[t, 0] = _scatter(inbuf, g, weights, current)
            else:
                p = geom[layer - 1]
                synops[t, layer] = _scatter(s[p[10]:p[10] + p[3] * p[4] * p[5]], g, weights, current)
            count = 0
            for j in range(n_out):
                idx = n_off + j
                vj = np.int64(0) if s[idx] else leak_value(v[idx], leak_form, leak_param, leak_shift)
                vj += current[j] * mult
                if vj > vmax:
                    vj = vmax
                    saturations[layer] += 1
                elif vj < vmin:
                    vj = vmin
                    saturations[layer] += 1
                v[idx] = vj
                fired = vj >= theta[t_off + j % c_out]
                s[idx] = fired
                count += fired
            spikes[t, layer] = count
        last = geom[n_layers - 1]
        n_feat = last[3] * last[4] * last[5]
        ro_sum[:] = 0
        fired = 0
        for f in range(n_feat):
            if s[last[10] + f]:
                fired += 1
                for c in range(n_cls):
                    ro_sum[c] += readout[f, c]
        synops[t, n_layers] = fired * n_cls
        for c in range(n_cls):
            a = acc[c] + ro_sum[c]
            if a > amax:
                a = amax
                saturations[n_layers] += 1
            elif a < amin:
                a = amin
                saturations[n_layers] += 1
            acc[c] = a
