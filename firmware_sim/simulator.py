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

from firmware_sim.kernels import run_steps, run_windows
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
    #: int64 (C_last,) the last layer's spikes per channel since the state was fresh (the readout's input summed
    #: over positions: what the unfamiliar-scene check compares with the training data, models.decision)
    channels: np.ndarray
    #: int64 (H_last·W_last,) the last layer's spikes per position (row-major), summed over its channels, since the
    #: state was fresh (how spread the activity is: the no-gesture gate's second features, models.decision)
    cells: np.ndarray


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
                        np.zeros(self.model.n_classes, np.int64), 0, np.zeros(self.n_channels, np.int64),
                        np.zeros(self.n_cells, np.int64))

    @property
    def n_channels(self) -> int:
        """Channels of the last layer (the length of :attr:`SimState.channels`)."""
        return int(self.packed.geom[-1][3])

    @property
    def n_cells(self) -> int:
        """Positions of the last layer, H·W (the length of :attr:`SimState.cells`)."""
        g = self.packed.geom[-1]
        return int(g[4]) * int(g[5])

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
        ch, cells = state.channels.copy(), state.cells.copy()
        L = len(self.packed.geom)
        if self.backend == "numpy":
            spikes, synops, sat = run_reference(frames, self.packed, v, s, acc, ch, cells)
        else:
            spikes = np.zeros((len(frames), L), dtype=np.int64)
            synops = np.zeros((len(frames), L + 1), dtype=np.int64)
            sat = np.zeros(L + 1, dtype=np.int64)
            run_steps(frames, self.packed, v, s, acc, ch, cells, spikes, synops, sat, self._scratch)
        return SimState(v, s, acc, state.steps + len(frames), ch, cells), RunOutput(spikes, synops, sat, acc.copy())

    def classify(self, windows: np.ndarray, progress: bool = False, last_counts: bool = False) -> dict:
        """Fresh state per window; ``windows`` (N, T, 2, H, W) → predictions, scores and counts per sample.

        The numba backend runs the windows in parallel, one per core (``kernels.run_windows``), in chunks so
        that the progress bar moves. With ``last_counts`` the result also holds ``"last_counts"`` (N, F): each
        last-layer neuron's spikes over the window, in the simulator's (H, W, C) order.
        """
        from tqdm import tqdm

        n = len(windows)
        L = len(self.packed.geom)
        n_last = int(self.model.layers[-1].n_neurons) if last_counts else 0
        scores = np.zeros((n, self.model.n_classes), dtype=np.int64)
        synops = np.zeros((n, L + 1), dtype=np.int64)
        spikes = np.zeros((n, L), dtype=np.int64)
        sat = np.zeros((n, L + 1), dtype=np.int64)
        counts = np.zeros((n, n_last), dtype=np.int64)
        chunk = 64 if self.backend == "numba" else 1
        with tqdm(total=n, desc=f"int{self.model.weight_bits} simulator", disable=not progress) as bar:
            for a in range(0, n, chunk):
                b = min(n, a + chunk)
                if self.backend == "numba":
                    run_windows(self.check_windows(windows[a:b]), self.packed, self._scratch, scores[a:b],
                                synops[a:b], spikes[a:b], sat[a:b], counts[a:b])
                else:
                    self._classify_one(windows[a], scores[a], synops[a], spikes[a], sat[a], counts[a])
                bar.update(b - a)
        result = {"predictions": scores.argmax(1), "scores": scores, "synops": synops, "spikes": spikes,
                  "saturations": sat}
        if last_counts:
            result["last_counts"] = counts
        return result

    def check_windows(self, windows: np.ndarray) -> np.ndarray:
        """``windows`` (N, T, C, H, W) as contiguous uint8, checked as :meth:`check_frames` checks one."""
        windows = np.asarray(windows)
        if windows.ndim != 5:
            raise SastLiveError(f"windows must be (N, T, C, H, W), got {windows.shape}")
        return self.check_frames(windows.reshape(-1, *windows.shape[2:])).reshape(windows.shape)

    def _classify_one(self, window, scores, synops, spikes, sat, counts):
        """One window step by step (the reference backend; ``counts`` of size 0 skips the last layer)."""
        state = self.initial_state()
        off = len(state.s) - len(counts)  # the last layer's neurons are the last ones
        steps = [window[t:t + 1] for t in range(len(window))] if len(counts) else [window]
        for frames in steps:
            state, out = self.run(frames, state)
            synops += out.synops.sum(0)
            spikes += out.spikes.sum(0)
            sat += out.saturations
            if len(counts):
                counts += state.s[off:]
        scores[:] = state.acc
