"""Training checkpoint → :class:`FirmwareModel` (no torch: the checkpoint is read with safetensors.numpy).

Weights: symmetric round-to-nearest per output channel (or per layer). The membrane of channel ``c`` counts
in units of that channel's weight step ``scale_c / 2^frac_bits``, so a spike adds its integer weight shifted
by ``frac_bits`` and the float threshold ``theta`` becomes ``round(theta · 2^frac_bits / scale_c)``. The leak
is the discrete factor nearest the trained ``tau``; the readout shares one scale over all classes so the
decision is an integer argmax.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, replace

import numpy as np

from firmware_sim.fixed_point import LEAK_FORMS, MEMBRANE_BITS, WEIGHT_QMAX, nearest_leak, quantize_symmetric
from firmware_sim.model_file import MAX_READOUT_BIAS, ConvLayer, FirmwareModel, check_thresholds
from models.checkpoint.files import read_checkpoint_files
from models.config import conv_out
from models.decision import Decision
from sast_live.errors import SastLiveError


@dataclass(frozen=True)
class QuantConfig:
    """How a checkpoint is quantized.

    Attributes:
        weight_bits: 8 (INT8, ±127), 4 (INT4, ±7) or 16 (wide, for agreement checks).
        per_channel: one scale per output channel (default) or one per layer.
        membrane_bits: membrane width (saturating), one of ``MEMBRANE_BITS``.
        frac_bits: extra fractional bits of the membrane below one weight step (finer leak rounding).
        leak_form: ``"multiply"`` (``m / 2^leak_shift``) or ``"shift"`` (``1 − 2^−k``).
        leak_shift: bits of the multiply form's denominator (8 = a byte multiplier, as on chip).
        precision: the row of :mod:`firmware_sim.precisions` this is, or ``"custom"`` (set by
            :meth:`Precision.quant_config <firmware_sim.precisions.Precision.quant_config>` and :func:`with_overrides`;
            the firmware model and its file carry it).
    """

    weight_bits: int = 8
    per_channel: bool = True
    membrane_bits: int = 16
    frac_bits: int = 0
    leak_form: str = "multiply"
    leak_shift: int = 8
    precision: str = "custom"

    def __post_init__(self):
        if self.weight_bits not in WEIGHT_QMAX:
            raise SastLiveError(f"weight bits must be one of {sorted(WEIGHT_QMAX)}, got {self.weight_bits}")
        if self.membrane_bits not in MEMBRANE_BITS:
            raise SastLiveError(f"membrane bits must be one of {MEMBRANE_BITS}, got {self.membrane_bits}")
        if not 0 <= self.frac_bits < self.membrane_bits - 1:
            raise SastLiveError(f"frac bits must be 0..{self.membrane_bits - 2}, got {self.frac_bits}")
        if self.leak_form not in LEAK_FORMS:
            raise SastLiveError(f"leak form must be one of {LEAK_FORMS}, got {self.leak_form!r}")


def with_overrides(qcfg: QuantConfig, **changes) -> QuantConfig:
    """``qcfg`` with the fields in ``changes`` that are not None replaced; once it differs from ``qcfg`` it is no
    longer that precision row, and says ``custom``."""
    new = replace(qcfg, **{k: v for k, v in changes.items() if v is not None})
    return new if new == qcfg else replace(new, precision="custom")


def read_checkpoint(path: str | os.PathLike) -> tuple[dict, dict[str, np.ndarray]]:
    """``(meta, float64 weights)`` of a training checkpoint ``X`` (``X.json`` + ``X.safetensors``), torch-free."""
    from safetensors.numpy import load_file

    meta, tensors = read_checkpoint_files(path, load_file)
    return meta, {k: v.astype(np.float64) for k, v in tensors.items()}


def quantize(meta: dict, weights: dict[str, np.ndarray], qcfg: QuantConfig) -> FirmwareModel:
    """Quantize a checkpoint's float weights (``model.convs.{i}.weight``, ``model.readout.weight``)."""
    cfg = meta["model_cfg"]
    if cfg.get("kind") == "parallel":
        raise SastLiveError(f"{cfg.get('name')!r} is a sequence-task network (parallel LIF on sequences): the "
                            "on-sensor simulator runs the event networks only")
    theta, tau = float(cfg["theta"]), float(cfg["tau"])
    leak = nearest_leak(tau, qcfg.leak_form, qcfg.leak_shift)
    c, (h, w) = int(cfg["in_channels"]), tuple(cfg["in_size"])
    layers = []
    for i, spec in enumerate(cfg["layers"]):
        key = f"model.convs.{i}.weight"
        if key not in weights:
            raise SastLiveError(f"checkpoint has no {key}")
        k, s, p, co = (int(spec[n]) for n in ("kernel", "stride", "padding", "out_channels"))
        if weights[key].shape != (co, c, k, k):
            raise SastLiveError(f"{key} has shape {weights[key].shape}, config says {(co, c, k, k)}")
        q, scale = quantize_symmetric(weights[key], qcfg.weight_bits, qcfg.per_channel)
        th = np.rint(theta * (1 << qcfg.frac_bits) / scale).astype(np.int64)
        out_shape = (co, conv_out(h, k, s, p), conv_out(w, k, s, p))
        layers.append(ConvLayer((c, h, w), out_shape, k, s, p, q, scale, np.maximum(th, 1)))
        c, h, w = out_shape
    ro = weights.get("model.readout.weight")
    if ro is None or ro.shape != (int(cfg["n_classes"]), c * h * w):
        raise SastLiveError(f"checkpoint readout must be ({cfg['n_classes']}, {c * h * w})")
    q_ro, ro_scale = quantize_symmetric(ro, qcfg.weight_bits, per_channel=False)
    bias = None
    if "model.readout.bias" in weights:  # per bin, in the readout's integer units (its scale, no new one)
        b = weights["model.readout.bias"]
        if b.shape != (int(cfg["n_classes"]),):
            raise SastLiveError(f"checkpoint readout bias must be ({cfg['n_classes']},), got {b.shape}")
        bias = np.rint(b / ro_scale[0]).astype(np.int64)
        if int(np.abs(bias).max(initial=0)) > MAX_READOUT_BIAS:
            raise SastLiveError(f"the readout bias is {int(np.abs(bias).max())}× the readout's weight step: "
                                f"beyond the ±{MAX_READOUT_BIAS} the sensor allows")
    classes = tuple(cfg.get("classes") or [str(i) for i in range(int(cfg["n_classes"]))])
    train = meta.get("train_cfg", {})
    source = {"name": cfg.get("name"), "dataset": train.get("dataset"), "method": train.get("method"),
              "rho": train.get("rho"), "epoch": meta.get("epoch"), "leak_requested_tau": tau}
    return FirmwareModel(
        name=str(cfg.get("name", "")), classes=classes, precision=qcfg.precision, weight_bits=qcfg.weight_bits,
        per_channel=qcfg.per_channel,
        membrane_bits=qcfg.membrane_bits, frac_bits=qcfg.frac_bits, leak=leak, layers=tuple(layers),
        readout=q_ro, readout_scale=float(ro_scale[0]), sensor_size=tuple(cfg["sensor_size"]),
        bin_us=int(cfg["bin_us"]), n_bins=int(cfg["n_bins"]), tau=tau, theta=theta, source=source,
        decision=Decision.from_dict(meta.get("decision"), classes), readout_bias=bias,
        refractory_us=int(cfg.get("refractory_us", 0)))


def quantize_checkpoint(path: str | os.PathLike, qcfg: QuantConfig | None = None) -> FirmwareModel:
    """Read a training checkpoint and quantize it; thresholds that do not fit the membrane are an error."""
    meta, weights = read_checkpoint(path)
    model = quantize(meta, weights, qcfg or QuantConfig())
    for i, layer in enumerate(model.layers):
        check_thresholds(layer.theta, model.membrane_bits, model.frac_bits, f"{path}: layer {i}")
    return model
