"""The networks the live pipeline can run, behind one small interface.

A backend keeps the network state of the current prediction window (it is owned by the pipeline's worker
thread) and runs whole bins:

    out = backend.run(frames)        # frames (k, 2, H, W) uint8 event counts, k ≥ 1
    out.spikes (k, L)  out.synops (k,)  backend.logits()  (n_classes,) float  backend.reset()
    backend.warm_up()                # compile what run() needs, touching no state of this backend
    acc, steps, channels, cells = backend.take_readout()   # the readout since the last take (raw units) and the
                                     # last layer's spikes per channel and per position in it, zeroed; membranes go on
    backend.to_logits(acc, steps)    # raw readout of ``steps`` bins → the float model's logits
    backend.decision                 # models.decision.Decision: temperature and "no gesture" rule

The precisions are the table of :mod:`firmware_sim.precisions`: the integer ones (``int8``, ``int4``, ``wide``)
run the on-sensor simulator (numba, no torch); ``float``/``hard`` run the trained model in PyTorch with the
surrogate (sigmoid) or the Heaviside spike — the swap-only deployment of DESIGN.md §1.
"""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path
from typing import NamedTuple

import numpy as np

from firmware_sim.precisions import DEPLOYED, PRECISIONS, Precision, custom_precision
from sast_live.errors import SastLiveError

#: the bundled gesture model: the one with the best robustness grid on the validation subjects (issue 29's rule,
#: models/zoo/make_zoo.sh) — gestures-sast fine-tuned with --augment-geometry in a chain of runs, the later ones with
#: --geometry-wide and --mirror, the last four on 40 and then 60 people (gestures-v2 plus gestures-v2-seed1, -seed2),
#: the last of them with half its loss on the hard-spike forward pass (--hard-loss 0.5)
DEFAULT_MODEL = Path(__file__).resolve().parents[2] / "models" / "zoo" / "gestures-sast-geometry10"


class Readout(NamedTuple):
    """What a backend's readout holds since it was last taken: accumulators ``acc`` (n_classes,) (raw units),
    over ``steps`` bins, the last layer's spikes per channel ``channels`` (C_last,) float64 (the unfamiliar-scene
    check's features, :class:`models.decision.FeatureCheck`, once divided by the bins) and per position ``cells``
    (H_last·W_last,) float64, summed over its channels (with ``channels``, the no-gesture gate's features)."""

    acc: np.ndarray
    steps: int
    channels: np.ndarray
    cells: np.ndarray


class BackendOut(NamedTuple):
    spikes: np.ndarray  # (k, L) int64 spikes per layer per bin
    synops: np.ndarray  # (k,) int64 synaptic operations per bin (input events included)
    layer_synops: np.ndarray  # (k, L + 1) int64: the SynOps the input (column 0) and each layer's spikes drive


class IntBackend:
    """The integer simulator of a :class:`~firmware_sim.model_file.FirmwareModel`."""

    def __init__(self, model, label: str, precision: Precision):
        from firmware_sim.simulator import Simulator

        self.model, self.label, self.precision = model, label, precision
        self.sim = Simulator(model)
        self.classes = tuple(model.classes)
        self.layer_sizes = tuple(layer.n_neurons for layer in model.layers)
        self.layer_shapes = tuple(tuple(layer.out_shape) for layer in model.layers)  # (C, H, W) each
        self.bin_cfg = model.bin_config()
        self.n_bins = model.n_bins
        self.input_refractory_us = model.refractory_us  # the input filter the model was trained behind
        self.decision = model.decision
        check_decision_fits(self.decision, self.layer_shapes[-1], f"model {label}")
        g = self.sim.packed.geom[0]  # the first layer: SynOps an input event drives at each pooled position
        c_in, h, w, c_out = (int(v) for v in g[:4])
        taps = np.diff(self.sim.packed.fan_ptr[int(g[12]):int(g[12]) + h * w + 1])
        self.input_fanout = (taps * c_out).reshape(h, w)
        self.reset()

    def reset(self) -> None:
        self.state = self.sim.initial_state()

    def take_readout(self) -> Readout:
        """The readout accumulators (int64), the bins they hold and the last layer's spikes per channel; the
        sensor clears them (the 32-bit accumulator then never saturates on a stream that runs for hours), the
        membranes carry on."""
        st = self.state
        self.state = replace(st, acc=np.zeros_like(st.acc), steps=0, channels=np.zeros_like(st.channels),
                             cells=np.zeros_like(st.cells))
        return Readout(st.acc.copy(), st.steps, st.channels.astype(np.float64), st.cells.astype(np.float64))

    def channels(self) -> np.ndarray:
        """The last layer's spikes per channel since the window's start (float64)."""
        return self.state.channels.astype(np.float64)

    def cells(self) -> np.ndarray:
        """The last layer's spikes per position (summed over channels) since the window's start (float64)."""
        return self.state.cells.astype(np.float64)

    def to_logits(self, acc: np.ndarray, steps: int) -> np.ndarray:
        return self.model.to_logits(acc, steps)

    def warm_up(self) -> None:
        """Compile the simulator's kernels on a throwaway simulator (this one may be running elsewhere)."""
        from firmware_sim.simulator import Simulator

        sim = Simulator(self.model)
        sim.run(np.zeros((1, *self.model.in_shape), np.uint8), sim.initial_state())

    def run(self, frames: np.ndarray) -> BackendOut:
        self.state, out = self.sim.run(frames, self.state)
        return BackendOut(out.spikes, out.synops.sum(1), out.synops)

    def spike_maps(self) -> list[np.ndarray]:
        """The last bin's spikes of each layer, (C, H, W) uint8 each."""
        out, start = [], 0
        for shape, n in zip(self.layer_shapes, self.layer_sizes, strict=True):
            out.append(self.state.s[start:start + n].reshape(shape))
            start += n
        return out

    def scores(self) -> np.ndarray:
        """Raw readout accumulators (int64), as the sensor would report them."""
        return self.state.acc.copy()

    def logits(self) -> np.ndarray:
        """Accumulators in the float model's units (mean readout per step), for confidences."""
        return self.to_logits(self.state.acc, self.state.steps)


class FloatBackend:
    """The PyTorch model stepped one bin at a time with ``mode`` = ``surrogate`` or ``hard`` spikes."""

    def __init__(self, model, precision: Precision, label: str, decision=None):
        import torch

        from models.decision import Decision
        from models.neurons import initial_state, lif_step
        from models.synops import fanout_maps, synops_per_layer

        self.torch, self._initial_state, self._lif_step = torch, initial_state, lif_step
        self._synops = synops_per_layer
        self.model, self.precision, self.mode, self.label = model.eval(), precision, precision.spike, label
        cfg = model.cfg
        self.classes = tuple(cfg.classes or [str(i) for i in range(cfg.n_classes)])
        h, w = cfg.in_size
        self.bin_cfg = cfg.bin_config()
        self.n_bins = cfg.n_bins
        self.input_refractory_us = cfg.refractory_us
        self.decision = decision or Decision()
        self._maps = fanout_maps(model)
        self.input_fanout = np.asarray(self._maps[0].numpy(), np.int64)  # (h, w) SynOps per input event
        sizes, shapes, x = [], [], torch.zeros(1, cfg.in_channels, h, w)
        for conv in model.convs:
            x = conv(x)
            sizes.append(int(x[0].numel()))
            shapes.append(tuple(x.shape[1:]))
        self.layer_sizes, self.layer_shapes = tuple(sizes), tuple(shapes)
        check_decision_fits(self.decision, shapes[-1], f"model {label}")
        self._last: list[np.ndarray] = [np.zeros(sh, np.uint8) for sh in shapes]
        self.reset()

    def warm_up(self) -> None:
        """Nothing to compile: PyTorch runs its kernels as they are."""

    def reset(self) -> None:
        self.states = [None] * len(self.model.convs)
        self.acc = self.torch.zeros(len(self.classes), dtype=self.torch.float64)
        self._channels = np.zeros(self.layer_shapes[-1][0], np.float64)
        self._cells = np.zeros(self.layer_shapes[-1][1] * self.layer_shapes[-1][2], np.float64)
        self.steps = 0

    def run(self, frames: np.ndarray) -> BackendOut:
        torch = self.torch
        k, L = len(frames), len(self.model.convs)
        spikes = np.zeros((k, L), np.int64)
        synops = np.zeros((k, L + 1), np.int64)
        p = self.model.cfg.neuron
        with torch.no_grad():
            x = torch.from_numpy(np.ascontiguousarray(frames)).float()
            for t in range(k):
                s = x[t:t + 1]
                layers = []
                for j, conv in enumerate(self.model.convs):
                    i_in = conv(s)
                    if self.states[j] is None:
                        self.states[j] = self._initial_state(i_in)
                    s, self.states[j] = self._lif_step(i_in, self.states[j], p, self.mode)
                    spikes[t, j] = int(round(float(s.sum())))
                    layers.append(s)
                synops[t] = np.round(self._synops(x[t:t + 1], layers, self._maps))
                self.acc += self.model.readout(s.flatten(1))[0].double()
                self._channels += s[0].sum((1, 2)).double().numpy()
                self._cells += s[0].sum(0).flatten().double().numpy()  # (H·W,) row-major, as the simulator
                self.steps += 1
            if k:
                self._last = [layer[0].numpy().copy() for layer in layers]
        return BackendOut(spikes, synops.sum(1), synops)

    def spike_maps(self) -> list[np.ndarray]:
        """The last bin's spikes of each layer, (C, H, W) each (surrogate spikes are fractions)."""
        return self._last

    def scores(self) -> np.ndarray:
        return self.logits()

    def logits(self) -> np.ndarray:
        return self.to_logits(self.acc.numpy(), self.steps)

    def channels(self) -> np.ndarray:
        return self._channels.copy()

    def cells(self) -> np.ndarray:
        return self._cells.copy()

    def take_readout(self) -> Readout:
        out = Readout(self.acc.numpy().copy(), self.steps, self._channels.copy(), self._cells.copy())
        self.acc.zero_()
        self._channels[:] = 0
        self._cells[:] = 0
        self.steps = 0
        return out

    def to_logits(self, acc: np.ndarray, steps: int) -> np.ndarray:
        return np.asarray(acc, np.float64) / max(steps, 1)


def is_firmware_dir(path: Path) -> bool:
    return path.is_dir() and (path / "firmware.json").is_file()


def model_classes(model_path: str | os.PathLike | None) -> tuple[str, ...]:
    """The class names of a training checkpoint or exported firmware folder (``None``: the bundled model), read
    from its checked JSON without loading any weights."""
    path = Path(model_path) if model_path else DEFAULT_MODEL
    if is_firmware_dir(path):
        from firmware_sim.model_file import load_firmware

        return tuple(load_firmware(path).classes)
    from models.checkpoint.files import read_checkpoint_meta

    if not path.exists() and not path.with_suffix(".json").exists():
        raise SastLiveError(f"no model at {path}: give a training checkpoint or an exported firmware folder")
    return tuple(read_checkpoint_meta(path)[0]["model_cfg"]["classes"])


def check_decision_fits(decision, last_shape, where) -> None:
    """That ``decision``'s activity check and gate have as many weights as the network's last layer (C, H, W) gives
    them features — a model file edited or mixed up would otherwise fail at its first window, not where it loads."""
    c, h, w = (int(v) for v in last_shape)
    if decision.familiar is not None and decision.familiar.whiten.shape[0] != c:
        raise SastLiveError(f"{where}: its activity check reads {decision.familiar.whiten.shape[0]} channels; the "
                            f"network's last layer has {c}")
    gate = decision.gate
    if gate is not None:
        want = c + (h * w if gate.features != "channels" else 0)
        if len(gate.weights) != want:
            raise SastLiveError(f"{where}: its no-gesture gate ({gate.features}) has {len(gate.weights)} weights; "
                                f"the network's last layer ({c} channels, {h}×{w} positions) gives it {want} "
                                "features")


def load_backend(model_path: str | os.PathLike | None, precision: Precision | None = None):
    """The backend that runs ``model_path`` at ``precision``: a training checkpoint at any row of the precision
    table (None: :data:`~firmware_sim.precisions.DEPLOYED`), or an exported firmware folder at its own precision
    (None, or that row). ``model_path`` None means the bundled SAST gesture model."""
    path = Path(model_path) if model_path else DEFAULT_MODEL
    if not path.exists() and not path.with_suffix(".json").exists():
        raise SastLiveError(f"no model at {path}: give a training checkpoint or an exported firmware folder")
    if is_firmware_dir(path):
        from firmware_sim.model_file import load_firmware

        model = load_firmware(path)
        own = PRECISIONS.get(model.precision) or custom_precision(model.weight_bits, model.membrane_bits,
                                                                  model.leak.shift)
        if precision is not None and precision.name != own.name:
            raise SastLiveError(f"{path} is an exported {own.name} firmware model; it can only run as {own.name} "
                                f"(give the training checkpoint for {precision.name})")
        return IntBackend(model, f"{path.name} {own.name}", own)
    prec = precision or PRECISIONS[DEPLOYED]
    label = f"{path.name} {prec.name}"
    if prec.integer:
        from firmware_sim.quantize import quantize_checkpoint

        return IntBackend(quantize_checkpoint(path, prec.quant_config()), label, prec)
    from models.checkpoint.weights import load_event_model
    from models.decision import Decision

    model, meta = load_event_model(path)
    return FloatBackend(model, prec, label, Decision.from_dict(meta.get("decision"), model.cfg.classes))
