"""What a checkpoint may contain, checked before anything is built from it (no torch, no tensor read).

A model file is untrusted input: a JSON config that rebuilds a network and a safetensors file of weights.
:func:`check_checkpoint` checks, in this order, and names the first problem as ``<file>: <field>: what``:

1. the config's schema: known keys only, the right types, every number in its range (``bin_us ≥ 1``,
   ``0 < tau < 1``, channel counts ``1…MAX_CHANNELS`` …);
2. the geometry chain: each convolution's output is at least 1×1, the sensor is a whole multiple of the input;
3. a size bound computed from the config alone: at most ``MAX_PARAMETERS`` weights and ``MAX_NEURONS`` neurons,
   so a config asking for 10⁹ channels fails here, not in a 72 GB allocation;
4. the tensors, from the safetensors header only: exactly the names the config implies (training state
   ``optim.*``/``rng.torch`` aside), their shapes, and a float dtype for weights.

The same checks run for every command that reads a checkpoint (evaluate, replay/gui/live at any precision,
export, train --init-from/--resume/--witness-from).
"""

from __future__ import annotations

import math
from dataclasses import fields

from models.config import FEATURES, KIND, ConvSpec, ParallelConfig, SNNConfig, conv_out, defaults
from sast_live.errors import SastLiveError

MAX_CHANNELS = 4096
MAX_SIZE = 4096  # pixels per side of the sensor and of the network input
MAX_KERNEL = 31
MAX_LAYERS = 32
MAX_CLASSES = 10_000
MAX_BINS = 1_000_000
MAX_BIN_US = 3_600_000_000  # an hour
MAX_PARAMETERS = 50_000_000  # 200 MB of float32 weights
MAX_NEURONS = 50_000_000
MAX_BRANCHES = 1_000_000
WEIGHT_DTYPES = ("F32", "F64")
STATE_DTYPES = ("F32", "F64", "I64", "U8")  # optimizer moments and steps, the RNG state


class Field:
    """Where a value sits (``model_cfg.layers[1].kernel``) and how to complain about it."""

    def __init__(self, file: str, path: str):
        self.file, self.path = file, path

    def __call__(self, name) -> Field:
        return Field(self.file, f"{self.path}[{name}]" if isinstance(name, int) else f"{self.path}.{name}")

    def error(self, what: str) -> SastLiveError:
        return SastLiveError(f"{self.file}: {self.path}: {what}")


def _int(where: Field, value, lo: int, hi: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise where.error(f"must be an integer, got {value!r}")
    if not lo <= value <= hi:
        raise where.error(f"must be in {lo}…{hi}, got {value}")
    return value


def _float(where: Field, value, lo: float, hi: float, open_lo: bool = True, open_hi: bool = False) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise where.error(f"must be a finite number, got {value!r}")
    if (value <= lo if open_lo else value < lo) or (value >= hi if open_hi else value > hi):
        raise where.error(f"must be in {'(' if open_lo else '['}{lo}, {hi}{')' if open_hi else ']'}, got {value}")
    return float(value)


def _pair(where: Field, value, hi: int) -> tuple[int, int]:
    if not isinstance(value, list) or len(value) != 2:
        raise where.error(f"must be a pair of integers, got {value!r}")
    return _int(where(0), value[0], 1, hi), _int(where(1), value[1], 1, hi)


def _keys(where: Field, cfg, allowed: set, required: set) -> dict:
    if not isinstance(cfg, dict):
        raise where.error(f"must be an object, got {type(cfg).__name__}")
    unknown = sorted(set(cfg) - allowed)
    if unknown:
        raise where.error(f"unknown field(s) {unknown}; a {where.path} has {sorted(allowed)}")
    missing = sorted(required - set(cfg))
    if missing:
        raise where.error(f"missing field(s) {missing}")
    return cfg


def _classes(where: Field, value, n: int) -> None:
    if not isinstance(value, list) or (value and len(value) != n) or not all(isinstance(c, str) for c in value):
        raise where.error(f"must be a list of {n} class names (or empty), got {value!r}")


def conv_tensors(cfg: dict, where: Field) -> dict[str, tuple[int, ...]]:
    """Check a :class:`~models.networks.SNNConfig` dict; returns the weight shapes it implies."""
    _keys(where, cfg, CONV_FIELDS, {"name", "layers", "n_classes"})
    cfg = {**defaults(SNNConfig), **cfg}  # a field left out means the config's default
    if not isinstance(cfg["name"], str):
        raise where("name").error("must be a string")
    c = _int(where("in_channels"), cfg["in_channels"], 1, MAX_CHANNELS)
    h, w = _pair(where("in_size"), cfg["in_size"], MAX_SIZE)
    sw, sh = _pair(where("sensor_size"), cfg["sensor_size"], MAX_SIZE)
    if sw % w or sh % h:
        raise where("sensor_size").error(f"the sensor {sw}×{sh} must be a whole multiple of the input {w}×{h}")
    n_classes = _int(where("n_classes"), cfg["n_classes"], 1, MAX_CLASSES)
    _float(where("tau"), cfg["tau"], 0.0, 1.0, open_hi=True)
    _float(where("theta"), cfg["theta"], 0.0, 1e6)
    _float(where("beta"), cfg["beta"], 0.0, 1e6)
    _int(where("bin_us"), cfg["bin_us"], 1, MAX_BIN_US)
    _int(where("n_bins"), cfg["n_bins"], 1, MAX_BINS)
    _classes(where("classes"), cfg["classes"], n_classes)
    for flag in ("readout_bias", "readout_tied"):
        if not isinstance(cfg[flag], bool):
            raise where(flag).error(f"must be true or false, got {cfg[flag]!r}")
    _int(where("refractory_us"), cfg["refractory_us"], 0, MAX_BIN_US)
    layers = cfg["layers"]
    if not isinstance(layers, list) or not 1 <= len(layers) <= MAX_LAYERS:
        raise where("layers").error(f"must be a list of 1…{MAX_LAYERS} layers, got {layers!r}")
    shapes, params, neurons = {}, 0, 0
    for i, spec in enumerate(layers):
        lw = where("layers")(i)
        _keys(lw, spec, CONV_SPEC_FIELDS, {"out_channels"})
        spec = {**defaults(ConvSpec), **spec}
        co = _int(lw("out_channels"), spec["out_channels"], 1, MAX_CHANNELS)
        k = _int(lw("kernel"), spec["kernel"], 1, MAX_KERNEL)
        s = _int(lw("stride"), spec["stride"], 1, MAX_KERNEL)
        p = _int(lw("padding"), spec["padding"], 0, k - 1)
        h, w = conv_out(h, k, s, p), conv_out(w, k, s, p)
        if h < 1 or w < 1:
            raise lw.error(f"kernel {k}, stride {s}, padding {p} leave no output ({h}×{w})")
        params += co * c * k * k
        neurons += co * h * w
        _bound(where, params, neurons)  # checked as it grows: the products never get huge
        shapes[f"model.convs.{i}.weight"] = (co, c, k, k)
        c = co
    params += n_classes * c * h * w
    _bound(where, params, neurons)
    shapes["model.readout.weight"] = (n_classes, c * h * w)
    if cfg["readout_bias"]:
        shapes["model.readout.bias"] = (n_classes,)
    return shapes


def parallel_tensors(cfg: dict, where: Field) -> dict[str, tuple[int, ...]]:
    """Check a :class:`~models.sequence_net.ParallelConfig` dict; returns the weight shapes it implies."""
    _keys(where, cfg, PARALLEL_FIELDS, {"name", "n_in", "kind"})
    cfg = {**defaults(ParallelConfig), **cfg}
    if not isinstance(cfg["name"], str):
        raise where("name").error("must be a string")
    n_in = _int(where("n_in"), cfg["n_in"], 1, MAX_NEURONS)
    k = _int(where("branches"), cfg["branches"], 1, MAX_BRANCHES)
    widths = cfg["widths"]
    if not isinstance(widths, list) or not 1 <= len(widths) <= MAX_LAYERS:
        raise where("widths").error(f"must be a list of 1…{MAX_LAYERS} widths, got {widths!r}")
    n_classes = _int(where("n_classes"), cfg["n_classes"], 1, MAX_CLASSES)
    _float(where("tau"), cfg["tau"], 0.0, 1.0, open_hi=True)
    _float(where("theta"), cfg["theta"], 0.0, 1e6)
    _float(where("beta"), cfg["beta"], 0.0, 1e6)
    if cfg["features"] not in FEATURES:
        raise where("features").error(f"must be one of {', '.join(FEATURES)}, got {cfg['features']!r}")
    if not isinstance(cfg["per_step"], bool):
        raise where("per_step").error("must be true or false")
    _classes(where("classes"), cfg["classes"], n_classes)
    shapes, params, fan_in = {}, 0, n_in
    for i, width in enumerate(widths):
        m = _int(where("widths")(i), width, 1, MAX_CHANNELS)
        params += k * m * fan_in
        _bound(where, params, k * m)
        shapes[f"model.layers.{i}"] = (k, m, fan_in)
        fan_in = m
    params += n_classes * k * fan_in
    _bound(where, params, 0)
    shapes["model.readout.weight"] = (n_classes, k * fan_in)
    return shapes


def _bound(where: Field, params: int, neurons: int) -> None:
    if params > MAX_PARAMETERS:
        raise where.error(f"asks for more than {MAX_PARAMETERS:,} weights (a size bound checked before anything "
                          "is allocated)")
    if neurons > MAX_NEURONS:
        raise where.error(f"asks for more than {MAX_NEURONS:,} neurons (a size bound checked before anything "
                          "is allocated)")


# what a config may hold: the fields of its dataclass (models.config), and nothing else
CONV_FIELDS = {f.name for f in fields(SNNConfig)}
CONV_SPEC_FIELDS = {f.name for f in fields(ConvSpec)}
PARALLEL_FIELDS = {f.name for f in fields(ParallelConfig)}


def check_checkpoint(meta, header: dict[str, tuple[str, tuple[int, ...]]], json_file: str,
                     tensor_file: str) -> None:
    """Raise :class:`SastLiveError` naming the first problem of a checkpoint's JSON ``meta`` and its safetensors
    ``header`` (``name → (dtype, shape)``, from :func:`models.checkpoint.files.safetensors_header`)."""
    root = Field(json_file, "model_cfg")
    cfg = meta["model_cfg"]
    if isinstance(cfg, dict) and cfg.get("kind") == KIND:
        expected = parallel_tensors(cfg, root)
    else:
        expected = conv_tensors(cfg, root)
    if "decision" in meta:
        from models.decision import Decision

        n = cfg.get("n_classes", len(cfg.get("classes") or ()))
        Decision.from_dict(meta["decision"], range(n), f"{json_file}: decision")
    for name, shape in expected.items():
        if name not in header:
            raise SastLiveError(f"{tensor_file}: {name}: missing (the config implies it, shape {shape})")
        dtype, got = header[name]
        if dtype not in WEIGHT_DTYPES:
            raise SastLiveError(f"{tensor_file}: {name}: dtype {dtype}; weights must be one of {WEIGHT_DTYPES}")
        if tuple(got) != tuple(shape):
            raise SastLiveError(f"{tensor_file}: {name}: shape {tuple(got)}, the config implies {tuple(shape)}")
    for name, (dtype, _) in header.items():
        if name in expected:
            continue
        if not (name.startswith("optim.") or name == "rng.torch"):
            raise SastLiveError(f"{tensor_file}: {name}: a tensor the config does not have (expected "
                                f"{sorted(expected)} and training state optim.*, rng.torch)")
        if dtype not in STATE_DTYPES:
            raise SastLiveError(f"{tensor_file}: {name}: dtype {dtype}; training state is one of {STATE_DTYPES}")
