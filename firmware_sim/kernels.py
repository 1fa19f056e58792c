"""numba kernels of the integer simulator: time-stepped per bin, event-driven inside a step.

Per time step ``t`` and layer ``l`` (DESIGN.md §6–7, integer form of the SAST LIF):

    I    = Σ over active inputs i of n_i · w[i → j]          (only active inputs touch their fan-out; int32
                                                            when the worst case fits, else int64)
    v    = 0 if s_prev else leak(v)                          (hard reset by the previous step's spike)
    v    = saturate(v + I · 2^frac_bits, membrane_bits)       (clamps counted)
    s    = v ≥ theta[channel]

The readout adds the last layer's spikes' weights and its per-bin bias into a saturating 32-bit accumulator.
SynOps: each input event or spike times the synapses it drives (the in-bounds taps × output channels; classes
at the readout).
All state is in the arrays passed in, updated in place, so a stream can be fed chunk by chunk.
"""

from __future__ import annotations

import numba
import numpy as np

from firmware_sim.fixed_point import LEAK_MULTIPLY


@numba.njit(nogil=True, cache=True)
def _scatter(active, counts, n_active, geom_row, weights, fan_ptr, fan_out, fan_w, current):  # pragma: no cover
    """Add the fan-out of the ``n_active`` active inputs into ``current``; returns their SynOps.

    ``active[i]`` is an input index in (H, W, C) order and ``counts[i]`` its event count (1 for a spike).
    The in-bounds taps of each input position come precomputed (``packing._fan_out``), so the inner loop is a
    contiguous run of ``C_out`` weights added to ``C_out`` neurons' inputs.
    """
    c_in, c_out, f_off = geom_row[0], geom_row[3], geom_row[12]
    # unsigned bases and counter: numba wraps negative signed indices around, a select per element that kept
    # the inner loops from vectorising (1.8× on the whole network with them unsigned)
    uc_out = np.uint64(c_out)
    synops = 0
    for i in range(n_active):
        j = active[i]
        n = counts[i]
        pos = j // c_in
        ci = j - pos * c_in
        a, b = fan_ptr[f_off + pos], fan_ptr[f_off + pos + 1]
        synops += n * c_out * (b - a)
        if n == 1:  # every spike, and most input pixels: a plain add the compiler vectorises in 32 bits
            for e in range(a, b):
                wb = np.uint64(fan_w[e] + ci * c_out)
                cb = np.uint64(fan_out[e])
                for co in range(uc_out):
                    current[cb + co] += weights[wb + co]
        else:
            for e in range(a, b):
                wb = np.uint64(fan_w[e] + ci * c_out)
                cb = np.uint64(fan_out[e])
                for co in range(uc_out):
                    current[cb + co] += n * weights[wb + co]
    return synops


@numba.njit(nogil=True, cache=True)
def _update(v, s, current, theta, leak_form, leak_param, leak_shift, mult, vmin, vmax, active):  # pragma: no cover
    """Leak, reset, add the input, saturate, threshold — one layer's neurons (views; ``theta`` per neuron).

    Writes the indices of the neurons that fired to ``active`` (the next layer's active inputs) and returns
    ``(spikes, saturations)``. The leak is ``fixed_point.leak_value`` with |x| taken and the sign put back by
    the sign mask, in one flat loop with no data-dependent branch, no modulo and no short inner loop: it
    vectorises and runs ~4× faster than the straightforward form.
    """
    count = 0
    sat = 0
    round_up = (np.int64(1) << leak_param) - 1
    for j in range(v.shape[0]):
        x = v[j]
        sign = x >> 63  # 0 or −1
        a = (x ^ sign) - sign  # |x|
        if leak_form == LEAK_MULTIPLY:  # loop-invariant: the compiler hoists it out of the loop
            r = (a * leak_param) >> leak_shift  # |x|·m >> shift
        else:
            r = a - ((a + round_up) >> leak_param)  # |x| − ⌈|x| / 2^k⌉
        x = ((r ^ sign) - sign) * (1 - np.int64(s[j])) + np.int64(current[j]) * mult  # reset after a spike
        sat += np.int64(x > vmax) + np.int64(x < vmin)
        x = min(max(x, vmin), vmax)
        v[j] = x
        fired = np.uint8(x >= theta[j])
        s[j] = fired
        count += np.int64(fired)
    _nonzero(s, active, active, False)  # the active list, in a second loop so the first one vectorises
    return count, sat


@numba.njit(nogil=True, cache=True)
def _nonzero(b, index, values, with_values):  # pragma: no cover - compiled
    """Write the positions of the non-zero bytes of ``b`` (1-D uint8) to ``index`` and their values to
    ``values`` (if ``with_values``); returns how many. Reads 8 bytes at a time and skips zero words: at the
    few percent of neurons that spike per bin, 2–4× faster than testing every byte."""
    n = 0
    m = b.shape[0] // 8
    words = b[:m * 8].view(np.uint64)
    for k in range(m):
        if words[k]:
            for j in range(k * 8, k * 8 + 8):
                if b[j]:
                    index[n] = j
                    if with_values:
                        values[n] = b[j]
                    n += 1
    for j in range(m * 8, b.shape[0]):
        if b[j]:
            index[n] = j
            if with_values:
                values[n] = b[j]
            n += 1
    return n


@numba.njit(nogil=True, cache=True)
def _step(frame, net, v, s, acc, spikes, synops, saturations, active, counts, current, ro_sum):  # pragma: no cover
    """One time step: ``frame`` (2, H, W) uint8 through ``net``; ``spikes`` (L,) and ``synops`` (L+1,) are this
    step's rows (written), ``saturations`` (L+1,) accumulated; state ``v``, ``s``, ``acc`` updated in place."""
    geom, readout = net.geom, net.readout
    n_layers = geom.shape[0]
    n_cls = readout.shape[1]
    mult = np.int64(1) << net.frac_bits
    # the frame's non-zero pixels with their counts, found in (C, H, W) order and renumbered (H, W, C); the
    # order of the inputs does not change an integer sum
    hw = frame.shape[1] * frame.shape[2]
    n_active = _nonzero(frame.reshape(-1), active, counts, True)
    for i in range(n_active):
        c = active[i] // hw
        active[i] = (active[i] - c * hw) * 2 + c
    for layer in range(n_layers):
        g = geom[layer]
        n_out = g[4] * g[5] * g[3]
        n_off = g[10]
        current[:n_out] = 0
        synops[layer] = _scatter(active, counts, n_active, g, net.weights, net.fan_ptr, net.fan_out, net.fan_w,
                                 current)
        n_active, sat = _update(v[n_off:n_off + n_out], s[n_off:n_off + n_out], current[:n_out],
                                net.theta[n_off:n_off + n_out], net.leak_form, net.leak_param, net.leak_shift,
                                mult, net.vmin, net.vmax, active)
        counts[:n_active] = 1
        spikes[layer] = n_active
        saturations[layer] += sat
    ro_sum[:] = net.readout_bias  # every bin, spikes or not
    for i in range(n_active):  # the last layer's spikes drive the readout
        row = readout[active[i]]  # a row view: no per-element index arithmetic
        for c in range(n_cls):
            ro_sum[c] += row[c]
    synops[n_layers] = n_active * n_cls
    for c in range(n_cls):
        a = acc[c] + ro_sum[c]
        if a > net.amax:
            a = net.amax
            saturations[n_layers] += 1
        elif a < net.amin:
            a = net.amin
            saturations[n_layers] += 1
        acc[c] = a


@numba.njit(nogil=True, cache=True)
def run_steps(frames, net, v, s, acc, channels, cells, spikes, synops, saturations, scratch):  # pragma: no cover
    """Run ``frames`` (T, 2, H, W) uint8 through the network ``net`` (a :class:`~firmware_sim.packing.Packed`),
    updating the state ``v``, ``s``, ``acc``, ``channels`` (C_last,) — the last layer's spikes per channel,
    summed over the steps (the unfamiliar-scene check's features) — and ``cells`` (H_last·W_last,) — its spikes per
    position, summed over channels and steps (the no-gesture gate's), in place.

    Outputs (written, shape): ``spikes`` (T, L) spikes per layer, ``synops`` (T, L+1) per receiving layer
    (the readout last), ``saturations`` (L+1,) clamps added. ``scratch`` is a
    :class:`~firmware_sim.packing.Scratch` for ``net``.
    """
    n_layers = net.geom.shape[0]
    n_c = net.geom[n_layers - 1, 3] if n_layers else 1  # (the benchmark's profile cuts before the first layer)
    for t in range(frames.shape[0]):
        _step(frames[t], net, v, s, acc, spikes[t], synops[t], saturations, scratch.active, scratch.counts,
              scratch.current, scratch.ro_sum)
        if n_layers:  # _step leaves the last layer's spiking neurons in active[:spikes]: (H, W, C) order
            for i in range(spikes[t, n_layers - 1]):
                channels[scratch.active[i] % n_c] += 1
                cells[scratch.active[i] // n_c] += 1


@numba.njit(nogil=True, parallel=True, cache=True)
def run_windows(windows, net, proto, scores, synops, spikes, saturations, last_counts):  # pragma: no cover
    """Independent windows in parallel (``prange`` over samples, one core each), each from a fresh state.

    ``windows`` (N, T, 2, H, W) uint8; ``proto`` is a :class:`~firmware_sim.packing.Scratch` whose arrays give
    each sample's working memory its sizes and dtypes. Written per sample: ``scores`` (N, n_classes) readout
    accumulators after the last step, ``synops`` (N, L+1), ``spikes`` (N, L) and ``saturations`` (N, L+1)
    summed over the steps, and ``last_counts`` (N, F) the last layer's spikes per neuron summed over the steps
    ((H, W, C) order; pass a (N, 0) array to skip them).
    """
    geom = net.geom
    n_layers = geom.shape[0]
    n_last = last_counts.shape[1]
    for i in numba.prange(windows.shape[0]):
        v = np.zeros(net.n_neurons, np.int64)
        s = np.zeros(net.n_neurons, np.uint8)
        acc = np.zeros(scores.shape[1], np.int64)
        active, counts = np.zeros_like(proto.active), np.zeros_like(proto.counts)
        current, ro_sum = np.zeros_like(proto.current), np.zeros_like(proto.ro_sum)
        sp = np.zeros(n_layers, np.int64)
        sy = np.zeros(n_layers + 1, np.int64)
        for t in range(windows.shape[1]):
            _step(windows[i, t], net, v, s, acc, sp, sy, saturations[i], active, counts, current, ro_sum)
            for layer in range(n_layers):
                spikes[i, layer] += sp[layer]
            for layer in range(n_layers + 1):
                synops[i, layer] += sy[layer]
            if n_last:  # _step leaves the last layer's spiking neurons in active[:their number]
                for j in range(sp[n_layers - 1]):
                    last_counts[i, active[j]] += 1
        scores[i] = acc
