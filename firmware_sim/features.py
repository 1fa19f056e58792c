"""The sensor's own features: the last layer's spike counts per hop of a network that runs on, as the live app runs
it (:mod:`sast_live.pipeline.windows`).

The readout is linear in these counts. Over hops ``k`` of a streaming window with weights ``w_k``, the integer
readout accumulates ``Σ_k w_k (R·c_k + n_k·b)`` (``R`` the readout, ``b`` its per-bin bias, ``c_k`` the hop's
last-layer counts, ``n_k`` its bins), so a window's logits are ``R·f + b`` with ``f = Σ w_k c_k / Σ w_k n_k`` — the
mean spikes per bin of each last-layer neuron. A readout fitted on ``f`` (:mod:`training.teach`) is therefore fitted
on exactly what the sensor computes, and :func:`window_scores` gives the integer simulator's own scores for any
readout from stored counts, with no network run.
"""

from __future__ import annotations

import numpy as np

from firmware_sim.packing import G_COUT, G_HOUT, G_WOUT
from sast_live.errors import SastLiveError


def last_layer_shape(sim) -> tuple[int, int, int]:
    """(C, H, W) of the simulator's last layer."""
    g = sim.packed.geom[-1]
    return int(g[G_COUT]), int(g[G_HOUT]), int(g[G_WOUT])


def readout_order(sim, counts: np.ndarray) -> np.ndarray:
    """Last-layer values (N, F) in the simulator's (H, W, C) neuron order → (N, F) in the readout's (C, H, W)."""
    c, h, w = last_layer_shape(sim)
    return np.asarray(counts).reshape(-1, h, w, c).transpose(0, 3, 1, 2).reshape(len(counts), -1)


def hop_counts(sim, frames: np.ndarray, hop_bins: int, state=None) -> tuple[np.ndarray, np.ndarray, object]:
    """Run ``frames`` (T, 2, H, W) through ``sim`` from ``state`` (None: fresh), the state running on, and count
    each last-layer neuron's spikes per hop of ``hop_bins`` bins (the last hop may be shorter).

    Returns ``(counts, bins, state)``: counts (n_hops, F) uint16 in the readout's (C, H, W) order, bins (n_hops,)
    int64 per hop, and the state after the last bin."""
    if hop_bins < 1:
        raise SastLiveError(f"a hop needs at least one bin, got {hop_bins}")
    frames = sim.check_frames(frames)
    n = int(np.prod(last_layer_shape(sim)))
    state = sim.initial_state() if state is None else state
    n_hops = -(-len(frames) // hop_bins)
    counts = np.zeros((n_hops, n), np.uint16)
    bins = np.zeros(n_hops, np.int64)
    for k in range(n_hops):
        for t in range(k * hop_bins, min(len(frames), (k + 1) * hop_bins)):
            state, _ = sim.run(frames[t:t + 1], state)
            counts[k] += state.s[-n:]  # the last layer's neurons are the last ones, (H, W, C) order
            bins[k] += 1
    return readout_order(sim, counts), bins, state


def window_features(counts: np.ndarray, bins: np.ndarray, n_hops: int, weights: np.ndarray) -> np.ndarray:
    """Every full streaming window of ``n_hops`` consecutive hops (the window ending at each hop from the
    ``n_hops``-th on): ``f = Σ w_k c_k / Σ w_k n_k`` (n_windows, F) float64, the readout's mean input per bin."""
    counts, bins = np.asarray(counts, np.float64), np.asarray(bins, np.float64)
    w = np.asarray(weights, np.float64)
    if len(w) != n_hops:
        raise SastLiveError(f"{len(w)} hop weights for a window of {n_hops} hops")
    ends = range(n_hops, len(counts) + 1)
    return np.stack([w @ counts[e - n_hops:e] / (w @ bins[e - n_hops:e]) for e in ends]) if len(ends) else \
        np.zeros((0, counts.shape[1]))


def windows_of(recordings, n_hops: int, weights: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Features (N, F) and labels (N,) of every full streaming window of ``recordings`` ``[(counts, bins, label)]``
    (:func:`window_features` of each, concatenated)."""
    xs, ys = [], []
    for counts, bins, label in recordings:
        f = window_features(counts, bins, n_hops, weights)
        xs.append(f)
        ys.append(np.full(len(f), label, np.int64))
    if not xs:
        return np.zeros((0, 0)), np.zeros(0, np.int64)
    return np.concatenate(xs), np.concatenate(ys)


def window_scores(model, counts: np.ndarray, bins: np.ndarray, n_hops: int, weights: np.ndarray) -> np.ndarray:
    """The integer readout accumulators of :class:`~firmware_sim.model_file.FirmwareModel` ``model`` over every
    full window (as :func:`window_features` lists them), exactly as the simulator sums them:
    ``Σ_k w_k (R·c_k + n_k·b)`` (n_windows, n_classes) int64."""
    R = np.asarray(model.readout, np.int64)
    per_hop = np.asarray(counts, np.int64) @ R.T + np.asarray(bins, np.int64)[:, None] * model.bias[None, :]
    w = np.asarray(weights, np.int64)
    ends = range(n_hops, len(per_hop) + 1)
    return np.stack([w @ per_hop[e - n_hops:e] for e in ends]) if len(ends) else np.zeros((0, len(R)), np.int64)
