"""The integer on-sensor simulator: state in, state out, chunk by chunk (NumPy + numba, no torch).

    sim = Simulator(load_firmware("out/"))
    state = sim.initial_state()
    state, out = sim.run(frames, state)         # frames (T, 2, H, W) uint8 event counts per bin
    out.scores                                  # readout accumulators (n_classes,) int64 after the last step

Feeding ``frames[:10]`` then ``frames[10:]`` gives exactly what ``frames`` does (tested). ``backend="numpy"``
runs the reference twin instead of the kernels.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from firmware_sim.kernels import run_steps
from firmware_sim.model_file import FirmwareModel
from firmware_sim.packing import Packed, pack, scratch
from firmware_sim.reference import run_reference
from sast_live.errors import SastLiveError


@dataclass(frozen=True)
class SimState:
    """Everything the network remembers between steps (arrays are owned by this state; never shared)."""

    v: np.ndarray  # int64 (N,) membranes of all layers, (H, W, C) order, clamped to membrane_bits
    s: np.ndarray  # uint8 (N,) last step's spikes
    acc: np.ndarray  # int64 (n_classes,) readout accumulators (32-bit range)
    steps: int  # time steps run since the state was fresh


@dataclass(frozen=True)
class RunOutput:
    """What one call produced. ``spikes`` (T, L), ``synops`` (T, L+1; readout last), ``saturations`` (L+1,)."""

    spikes: np.ndarray
    synops: np.ndarray
    saturations: np.ndarray
    scores: np.ndarray  # readout accumulators after the last step (n_classes,)

    @property
    def synops_total(self) -> int:
        return int(self.synops.sum())


class Simulator:
    """Runs one :class:`FirmwareModel`; holds only immutable packed weights and scratch buffers."""

    def __init__(self, model: FirmwareModel, backend: str = "numba"):
        if backend not in ("numba", "numpy"):
            raise SastLiveError(f"simulator backend must be 'numba' or 'numpy', got {backend!r}")
        self.model = model
        self.backend = backend
        self.packed: Packed = pack(model)
        self._scratch = scratch(self.packed, model.in_shape)

    def initial_state(self) -> SimState:
        """Membranes at rest, no spikes, empty readout."""
        return SimState(np.zeros(self.packed.n_neurons, np.int64), np.zeros(self.packed.n_neurons, np.uint8),
                        np.zeros(self.model.n_classes, np.int64), 0)

    def check_frames(self, frames: np.ndarray) -> np.ndarray:
        frames = np.asarray(frames)
        want = self.model.in_shape
        if frames.ndim != 4 or tuple(frames.shape[1:]) != want:
            raise SastLiveError(f"frames must be (T, {want[0]}, {want[1]}, {want[2]}), got {frames.shape}")
        if frames.dtype != np.uint8:
            if frames.size and (frames.min() < 0 or frames.max() > 255):
                raise SastLiveError("frames must hold event counts 0..255")
            frames = frames.astype(np.uint8)
        return np.ascontiguousarray(frames)

    def run(self, frames: np.ndarray, state: SimState) -> tuple[SimState, RunOutput]:
        """Run ``frames`` (T, 2, H, W) from ``state``; returns the new state (the old one is untouched)."""
        frames = self.check_frames(frames)
        v, s, acc = state.v.copy(), state.s.copy(), state.acc.copy()
        L = len(self.packed.geom)
        if self.backend == "numpy":
            spikes, synops, sat = run_reference(frames, self.packed, v, s, acc)
        else:
            spikes = np.zeros((len(frames), L), dtype=np.int64)
            synops = np.zeros((len(frames), L + 1), dtype=np.int64)
            sat = np.zeros(L + 1, dtype=np.int64)
            run_steps(frames, self.packed, v, s, acc, spikes, synops, sat, self._scratch)
        return SimState(v, s, acc, state.steps + len(frames)), RunOutput(spikes, synops, sat, acc.copy())

    def classify(self, windows: np.ndarray, progress: bool = False) -> dict:
        """Fresh state per window; ``windows`` (N, T, 2, H, W) → predictions, scores and counts per sample."""
        from tqdm import tqdm

        n = len(windows)
        L = len(self.packed.geom)
        scores = np.zeros((n, self.model.n_classes), dtype=np.int64)
        synops = np.zeros((n, L + 1), dtype=np.int64)
        spikes = np.zeros((n, L), dtype=np.int64)
        sat = np.zeros((n, L + 1), dtype=np.int64)
        for i in tqdm(range(n), desc=f"int{self.model.weight_bits} simulator", disable=not progress):
            _, out = self.run(windows[i], self.initial_state())
            scores[i], synops[i], spikes[i], sat[i] = out.scores, out.synops.sum(0), out.spikes.sum(0), \
                out.saturations
        return {"predictions": scores.argmax(1), "scores": scores, "synops": synops, "spikes": spikes,
                "saturations": sat}
