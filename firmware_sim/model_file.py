"""The firmware model: integer weights, thresholds, leak and geometry — and its file (safetensors + JSON).

``save_firmware(model, DIR)`` writes ``DIR/firmware.safetensors`` (integer tensors only) and
``DIR/firmware.json`` (bit widths, scales, leak, geometry, class names, where it came from).
``load_firmware(DIR)`` reads them back with no pickle and checks every field against every other, so a
hand-edited or truncated file fails with a message naming the field.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from firmware_sim.fixed_point import MEMBRANE_BITS, READOUT_BITS, WEIGHT_QMAX, Leak, int_range
from models.checkpoint.files import read_json, safetensors_header
from models.checkpoint.schema import (
    MAX_BIN_US,
    MAX_BINS,
    MAX_CHANNELS,
    MAX_LAYERS,
    MAX_NEURONS,
    MAX_PARAMETERS,
    MAX_SIZE,
)
from models.config import conv_out
from models.decision import Decision
from sast_live.errors import SastLiveError
from sast_live.transforms.config import BinConfig

FORMAT = "sast-live-firmware/1"
JSON_NAME, TENSOR_NAME = "firmware.json", "firmware.safetensors"
FIRMWARE_FIELDS = {"format", "name", "classes", "precision", "weight_bits", "per_channel", "membrane_bits",
                   "frac_bits", "leak", "layers", "readout_scale", "sensor_size", "bin_us", "n_bins", "tau", "theta",
                   "source", "memory", "decision", "refractory_us"}
MAX_READOUT_BIAS = 2**24  # per bin; 128 bins of it stay far inside the 32-bit accumulator


@dataclass(frozen=True)
class ConvLayer:
    """One quantized LIF convolution layer.

    Attributes:
        in_shape / out_shape: ``(C, H, W)`` of its input and of its neurons.
        kernel, stride, padding: square convolution geometry.
        weights: int16 ``(C_out, C_in, k, k)`` (PyTorch's layout), ``|w| ≤ WEIGHT_QMAX[weight_bits]``.
        scale: float64 ``(C_out,)``; float weight ≈ ``weights · scale`` (per channel, or one value repeated).
        theta: int64 ``(C_out,)`` threshold in membrane units (``theta_float · 2^frac_bits / scale``).
    """

    in_shape: tuple[int, int, int]
    out_shape: tuple[int, int, int]
    kernel: int
    stride: int
    padding: int
    weights: np.ndarray
    scale: np.ndarray
    theta: np.ndarray

    @property
    def n_neurons(self) -> int:
        return int(np.prod(self.out_shape))


@dataclass(frozen=True)
class FirmwareModel:
    """A network as the sensor runs it. Input: ``(2, H, W)`` uint8 event counts per bin (OFF, ON).

    The readout is one integer layer ``readout (n_classes, F)`` over the last layer's spikes flattened in
    ``(C, H, W)`` order, with one scale shared by all classes so that the class decision is an integer argmax;
    ``readout_bias`` (n_classes,), in the same units, is added to the accumulators every bin (None: no bias).
    ``refractory_us`` is the input filter the network was trained behind (0: none): the host or the sensor's
    event front end applies it before binning.
    """

    name: str
    classes: tuple[str, ...]
    weight_bits: int
    per_channel: bool
    membrane_bits: int
    frac_bits: int
    leak: Leak
    layers: tuple[ConvLayer, ...]
    readout: np.ndarray
    readout_scale: float
    sensor_size: tuple[int, int]
    bin_us: int
    n_bins: int
    tau: float
    theta: float
    source: dict
    decision: Decision = Decision()  # calibrated confidences and "no gesture" (models.decision)
    readout_bias: np.ndarray | None = None  # int64 (n_classes,) per bin, readout units
    refractory_us: int = 0
    precision: str = "custom"  # the row of firmware_sim.precisions it was quantized at, or "custom"

    def bin_config(self) -> BinConfig:
        """How the sensor's events become this network's input frames (the training config's own binning:
        ``bin_us`` bins, pooled to the first layer's input size, uint8 counts)."""
        return BinConfig(tuple(self.sensor_size), self.bin_us, self.in_shape[:0:-1], "uint8")

    @property
    def bias(self) -> np.ndarray:
        """The per-bin readout bias, int64 (n_classes,) (zeros for a model without one)."""
        if self.readout_bias is None:
            return np.zeros(self.n_classes, np.int64)
        return np.asarray(self.readout_bias, np.int64)

    @property
    def in_shape(self) -> tuple[int, int, int]:
        return self.layers[0].in_shape

    @property
    def n_classes(self) -> int:
        return int(self.readout.shape[0])

    def to_logits(self, acc: np.ndarray, steps: int) -> np.ndarray:
        """Readout accumulators summed over ``steps`` bins → the float model's logits (its mean readout)."""
        return np.asarray(acc, np.float64) * self.readout_scale / max(steps, 1)

    @property
    def n_weights(self) -> int:
        return int(sum(layer.weights.size for layer in self.layers) + self.readout.size)

    def memory_report(self) -> dict:
        """Bytes a sensor needs: weights at ``weight_bits``, membranes at ``membrane_bits``, 1 bit per spike."""
        neurons = sum(layer.n_neurons for layer in self.layers)
        weight_bytes = (self.n_weights * self.weight_bits + 7) // 8
        if self.readout_bias is not None:
            weight_bytes += 4 * self.n_classes  # the bias is stored as int32
        state_bytes = (neurons * self.membrane_bits + 7) // 8 + (neurons + 7) // 8 + self.n_classes * READOUT_BITS // 8
        return {"weights": self.n_weights, "neurons": neurons, "weight_bytes": weight_bytes,
                "state_bytes": state_bytes, "total_bytes": weight_bytes + state_bytes}


def check_thresholds(theta: np.ndarray, membrane_bits: int, frac_bits: int, where: str) -> None:
    """Thresholds must be positive and reachable by a saturating ``membrane_bits`` membrane."""
    vmax = int_range(membrane_bits)[1]
    lo, hi = int(theta.min()), int(theta.max())
    if lo <= 0 or hi > vmax:
        beyond = f"; {hi} exceeds the {membrane_bits}-bit membrane" if hi > vmax else ""
        raise SastLiveError(f"{where}: thresholds must be 1..{vmax} (membrane_bits {membrane_bits}, frac_bits "
                            f"{frac_bits}), got {lo}..{hi}{beyond}; use more membrane bits or fewer frac bits")


def _storage_dtype(bits: int):
    return np.int8 if bits <= 8 else np.int16


def save_firmware(model: FirmwareModel, out: str | os.PathLike) -> Path:
    """Write ``firmware.safetensors`` + ``firmware.json`` into folder ``out`` (created); returns the folder."""
    from safetensors.numpy import save_file

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    dt = _storage_dtype(model.weight_bits)
    tensors = {"readout": model.readout.astype(dt)}
    if model.readout_bias is not None:
        tensors["readout_bias"] = np.asarray(model.readout_bias, np.int32)
    layers = []
    for i, layer in enumerate(model.layers):
        tensors[f"conv{i}.weight"] = layer.weights.astype(dt)
        tensors[f"conv{i}.theta"] = layer.theta.astype(np.int64)
        layers.append({"in_shape": list(layer.in_shape), "out_shape": list(layer.out_shape), "kernel": layer.kernel,
                       "stride": layer.stride, "padding": layer.padding, "scale": layer.scale.tolist()})
    meta = {"format": FORMAT, "name": model.name, "classes": list(model.classes), "precision": model.precision,
            "weight_bits": model.weight_bits,
            "per_channel": model.per_channel, "membrane_bits": model.membrane_bits, "frac_bits": model.frac_bits,
            "leak": {"form": model.leak.form, "param": model.leak.param, "shift": model.leak.shift,
                     "factor": model.leak.factor},
            "layers": layers, "readout_scale": model.readout_scale, "sensor_size": list(model.sensor_size),
            "bin_us": model.bin_us, "n_bins": model.n_bins, "tau": model.tau, "theta": model.theta,
            "source": model.source, "memory": model.memory_report(), "decision": model.decision.to_dict(),
            "refractory_us": model.refractory_us}
    # tensors first, JSON last: a folder whose JSON exists is complete
    save_file(tensors, str(out / TENSOR_NAME))
    tmp = out / (JSON_NAME + ".tmp")
    tmp.write_text(json.dumps(meta, indent=2))
    tmp.replace(out / JSON_NAME)
    return out


def _need(meta: dict, key: str, kind, where: str):
    if key not in meta:
        raise SastLiveError(f"{where}: missing field {key!r}")
    value = meta[key]
    if kind is int and (isinstance(value, bool) or not isinstance(value, int)):
        raise SastLiveError(f"{where}: field {key!r} must be an integer, got {value!r}")
    if kind is not int and not isinstance(value, kind):
        raise SastLiveError(f"{where}: field {key!r} must be {getattr(kind, '__name__', kind)}, got {value!r}")
    return value


def load_firmware(path: str | os.PathLike) -> FirmwareModel:
    """Read and validate a firmware model folder (or its ``firmware.json``)."""
    from safetensors.numpy import load_file

    from firmware_sim.quantize import QuantConfig

    path = Path(path)
    folder = path.parent if path.suffix in (".json", ".safetensors") else path
    jpath, tpath = folder / JSON_NAME, folder / TENSOR_NAME
    if not jpath.is_file() or not tpath.is_file():
        raise SastLiveError(f"firmware model {folder}: need {JSON_NAME} and {TENSOR_NAME}")
    meta = read_json(jpath, what="a firmware model's JSON")
    where = str(jpath)
    if meta.get("format") != FORMAT:
        raise SastLiveError(f"{where}: not a SAST-Live firmware model (format {meta.get('format')!r}, expected "
                            f"{FORMAT!r}); a training checkpoint is turned into one by `main.py export`")
    unknown = sorted(set(meta) - FIRMWARE_FIELDS)
    if unknown:
        raise SastLiveError(f"{where}: unknown field(s) {unknown}")
    _check_tensors(safetensors_header(tpath), meta, tpath)  # names, dtypes and sizes before anything is read
    try:
        tensors = load_file(str(tpath))
    except Exception as exc:  # safetensors raises its own error types for truncated or foreign files
        raise SastLiveError(f"{tpath}: unreadable safetensors file ({exc})") from exc
    wbits = _need(meta, "weight_bits", int, where)
    if wbits not in WEIGHT_QMAX:
        raise SastLiveError(f"{where}: weight_bits must be one of {sorted(WEIGHT_QMAX)}, got {wbits}")
    mbits = _need(meta, "membrane_bits", int, where)
    if mbits not in MEMBRANE_BITS:
        raise SastLiveError(f"{where}: membrane_bits must be one of {MEMBRANE_BITS}, got {mbits}")
    frac = _need(meta, "frac_bits", int, where)
    if not 0 <= frac < mbits - 1:
        raise SastLiveError(f"{where}: frac_bits must be 0..{mbits - 2}, got {frac}")
    lk = _need(meta, "leak", dict, where)
    try:
        leak = Leak(str(lk.get("form")), int(lk.get("param", -1)), int(lk.get("shift", 8)))
    except (TypeError, ValueError) as exc:
        raise SastLiveError(f"{where}: bad leak {lk!r}") from exc
    classes = tuple(str(c) for c in _need(meta, "classes", list, where))
    qmax = WEIGHT_QMAX[wbits]
    layers = []
    prev_shape = None
    neurons = 0
    for i, spec in enumerate(_need(meta, "layers", list, where)):
        lw = f"{where} layer {i}"
        in_shape = tuple(_need(spec, "in_shape", list, lw))
        out_shape = tuple(_need(spec, "out_shape", list, lw))
        k, s, p = (_need(spec, key, int, lw) for key in ("kernel", "stride", "padding"))
        if len(in_shape) != 3 or len(out_shape) != 3 or not all(_is_int(d) for d in in_shape + out_shape) \
                or min(in_shape + out_shape) <= 0 or k <= 0 or s <= 0 or p < 0:
            raise SastLiveError(f"{lw}: impossible geometry in {in_shape} out {out_shape} k{k} s{s} p{p}")
        if max(in_shape[1:] + out_shape[1:]) > MAX_SIZE or max(in_shape[0], out_shape[0]) > MAX_CHANNELS:
            raise SastLiveError(f"{lw}: in {in_shape} out {out_shape}: beyond {MAX_CHANNELS} channels or "
                                f"{MAX_SIZE} pixels per side")
        neurons += int(np.prod(out_shape))
        if neurons > MAX_NEURONS:
            raise SastLiveError(f"{lw}: more than {MAX_NEURONS:,} neurons (a size bound checked before anything "
                                "is allocated)")
        if prev_shape is not None and in_shape != prev_shape:
            raise SastLiveError(f"{lw}: input shape {in_shape} does not match the previous layer's {prev_shape}")
        if out_shape[1:] != (conv_out(in_shape[1], k, s, p), conv_out(in_shape[2], k, s, p)):
            raise SastLiveError(f"{lw}: output size {out_shape[1:]} does not follow from the geometry")
        w = _tensor(tensors, f"conv{i}.weight", (out_shape[0], in_shape[0], k, k), qmax, tpath)
        theta = _tensor(tensors, f"conv{i}.theta", (out_shape[0],), None, tpath).astype(np.int64)
        check_thresholds(theta, mbits, frac, lw)
        scale = _need(spec, "scale", list, lw)
        if not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in scale):
            raise SastLiveError(f"{lw}: scale must be {out_shape[0]} positive numbers")
        scale = np.asarray(scale, dtype=np.float64)
        if scale.shape != (out_shape[0],) or not np.all(scale > 0) or not np.all(np.isfinite(scale)):
            raise SastLiveError(f"{lw}: scale must be {out_shape[0]} positive numbers")
        layers.append(ConvLayer(in_shape, out_shape, k, s, p, w, scale, theta))
        prev_shape = out_shape
    if not layers:
        raise SastLiveError(f"{where}: no layers")
    if layers[0].in_shape[0] != 2:
        raise SastLiveError(f"{where}: the first layer must take 2 polarity channels, got {layers[0].in_shape[0]}")
    n_feat = int(np.prod(prev_shape))
    readout = _tensor(tensors, "readout", (len(classes), n_feat), qmax, tpath)
    sensor = tuple(_need(meta, "sensor_size", list, where))
    in_h, in_w = layers[0].in_shape[1:]
    if len(sensor) != 2 or not all(_is_int(d) and d > 0 for d in sensor) or sensor[0] % in_w or sensor[1] % in_h:
        raise SastLiveError(f"{where}: sensor_size: {list(sensor)} must be two positive multiples of the input "
                            f"{in_w}x{in_h}")
    bias = None
    if "readout_bias" in tensors:
        bias = _tensor(tensors, "readout_bias", (len(classes),), None, tpath).astype(np.int64)
        if int(np.abs(bias).max(initial=0)) > MAX_READOUT_BIAS:
            raise SastLiveError(f"{tpath}: tensor 'readout_bias' exceeds ±{MAX_READOUT_BIAS} per bin")
    refractory_us = meta.get("refractory_us", 0)
    if not _is_int(refractory_us) or not 0 <= refractory_us <= MAX_BIN_US:
        raise SastLiveError(f"{where}: refractory_us: must be an integer in 0…{MAX_BIN_US}, got {refractory_us!r}")
    extra = set(tensors) - {"readout", "readout_bias"} - {f"conv{i}.{n}" for i in range(len(layers))
                                                          for n in ("weight", "theta")}
    if extra:
        raise SastLiveError(f"{tpath}: unexpected tensors {sorted(extra)}")
    return FirmwareModel(
        name=str(meta.get("name", "")), classes=classes, weight_bits=wbits, per_channel=bool(meta.get("per_channel")),
        membrane_bits=mbits, frac_bits=frac, leak=leak, layers=tuple(layers), readout=readout,
        readout_scale=float(_need(meta, "readout_scale", (int, float), where)), sensor_size=(sensor[0], sensor[1]),
        bin_us=_bounded(meta, "bin_us", MAX_BIN_US, where), n_bins=_bounded(meta, "n_bins", MAX_BINS, where),
        tau=_number(meta, "tau", leak.factor, where), theta=_number(meta, "theta", 1.0, where),
        source=dict(meta.get("source", {})),
        decision=Decision.from_dict(meta.get("decision"), classes, f"{where}: decision"), readout_bias=bias,
        refractory_us=refractory_us, precision=_precision(meta, where, QuantConfig(
            wbits, bool(meta.get("per_channel")), mbits, frac, leak.form, leak.shift)))


def _precision(meta: dict, where: str, have) -> str:
    """The precision row the model was exported at, or ``custom``. A file written before the field existed is
    matched on its whole quantization ``have`` (a QuantConfig: weight and membrane bits, leak form and width,
    scales per channel, fraction bits), never on one of them."""
    from firmware_sim.precisions import PRECISIONS

    if "precision" in meta:
        name = meta["precision"]
        if name != "custom" and (name not in PRECISIONS or not PRECISIONS[name].integer):
            raise SastLiveError(f"{where}: precision: must be custom or one of the integer precisions "
                                f"{[n for n, p in PRECISIONS.items() if p.integer]}, got {name!r}")
        return name
    return next((n for n, p in PRECISIONS.items() if p.integer and replace(p.quant_config(), precision="custom") ==
                 have), "custom")


def _check_tensors(header: dict, meta: dict, tpath) -> None:
    """The tensor names a firmware model must have, integer dtypes, and a size bound, from the header alone."""
    layers = meta.get("layers")
    if not isinstance(layers, list) or not 1 <= len(layers) <= MAX_LAYERS:
        raise SastLiveError(f"{tpath.parent / JSON_NAME}: layers: must be a list of 1…{MAX_LAYERS} layers")
    want = {"readout"} | {f"conv{i}.{n}" for i in range(len(layers)) for n in ("weight", "theta")}
    if "readout_bias" in header:
        want.add("readout_bias")
    if set(header) != want:
        missing, extra = sorted(want - set(header)), sorted(set(header) - want)
        raise SastLiveError(f"{tpath}: tensors: " + "; ".join(
            part for part in (f"missing {missing}" if missing else "", f"unexpected {extra}" if extra else "") if part))
    total = 0
    for name, (dtype, shape) in header.items():
        if dtype not in ("I8", "I16", "I32", "I64"):
            raise SastLiveError(f"{tpath}: {name}: dtype {dtype}; a firmware model holds integers only")
        count = 1
        for d in shape:
            count *= d
        total += count
    if total > MAX_PARAMETERS:
        raise SastLiveError(f"{tpath}: holds {total:,} numbers, more than the {MAX_PARAMETERS:,} a model may have")


def _number(meta: dict, key: str, default: float, where: str) -> float:
    value = meta.get(key, default)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not np.isfinite(value):
        raise SastLiveError(f"{where}: {key}: must be a finite number, got {value!r}")
    return float(value)


def _is_int(v) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _bounded(meta: dict, key: str, hi: int, where: str) -> int:
    value = _need(meta, key, int, where)
    if not 1 <= value <= hi:
        raise SastLiveError(f"{where}: {key}: must be in 1…{hi}, got {value}")
    return value


def _tensor(tensors: dict, key: str, shape: tuple, qmax: int | None, where) -> np.ndarray:
    if key not in tensors:
        raise SastLiveError(f"{where}: missing tensor {key!r}")
    t = tensors[key]
    if t.dtype.kind != "i":
        raise SastLiveError(f"{where}: tensor {key!r} must hold integers, got {t.dtype}")
    if tuple(t.shape) != tuple(shape):
        raise SastLiveError(f"{where}: tensor {key!r} has shape {tuple(t.shape)}, expected {tuple(shape)}")
    if qmax is not None and t.size and int(np.abs(t.astype(np.int64)).max()) > qmax:
        raise SastLiveError(f"{where}: tensor {key!r} exceeds ±{qmax}")
    return t.astype(np.int16) if qmax is not None else t
