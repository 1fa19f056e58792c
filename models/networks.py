"""Convolutional LIF networks for N-MNIST (34×34×2) and gestures (128×128 pooled to 32×32×2).

Tensors are time-first: input ``(T, B, 2, H, W)`` event-count frames. Each hidden layer is a bias-free
strided convolution followed by LIF neurons (strided convolutions instead of pooling keep every layer's
output binary at deployment, as a sensor's integer simulator needs). The readout is a non-spiking linear
layer whose membrane accumulates over time; logits = the mean over time of ``W · s[t]``.

Sizes are chosen for on-sensor memory: see :func:`model_summary` (N-MNIST 29,976 weights; gestures 35,616 with
12 outputs — 30 kB / 36 kB at INT8, within a 64 kB budget; the first gesture models had a 32-channel last layer,
19,744 weights).

Default neuron hyper-parameters (in the configs below), and why:
* ``tau = 0.8`` per 10 ms bin (N-MNIST) / 25 ms bin (gestures): a membrane time constant of
  −Δt/ln(0.8) ≈ 45 ms / 110 ms, about one N-MNIST saccade / one gesture stroke, so evidence is integrated
  over a movement but not across the whole sample;
* ``theta = 1.0``: a unit threshold; weight scale is learned relative to it (and quantized relative to it);
* ``beta = 5``: the sigmoid reaches 0.007/0.993 at ±1 threshold, steep enough that the surrogate-forward
  network behaves much like the hard one, smooth enough that gradients reach every neuron.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import torch
from torch import nn

from models.neurons import LIFParameters, LIFState, initial_state, lif_step


@dataclass(frozen=True)
class ConvSpec:
    """One hidden layer: ``out_channels``, square ``kernel``, ``stride``, ``padding``."""

    out_channels: int
    kernel: int = 3
    stride: int = 2
    padding: int = 1


@dataclass(frozen=True)
class SNNConfig:
    """Everything needed to rebuild a network (saved as JSON beside the weights)."""

    name: str
    in_channels: int = 2
    in_size: tuple[int, int] = (34, 34)  # (H, W) after any pooling of the sensor
    sensor_size: tuple[int, int] = (34, 34)  # (width, height) of the sensor the frames come from
    layers: tuple[ConvSpec, ...] = field(default_factory=tuple)
    n_classes: int = 10
    tau: float = 0.8
    theta: float = 1.0
    beta: float = 5.0
    bin_us: int = 10_000
    n_bins: int = 30
    classes: tuple[str, ...] = ()
    # a per-class readout bias: with no evidence at all (a still scene) the logits are the bias, so a reject
    # class ("no gesture") can win without any spike; the sensor adds it to its accumulators every bin
    readout_bias: bool = False
    # the input filter the network was trained behind: events of a pixel within this many µs of its last kept
    # one are dropped before binning (0 = none); training, evaluation and the live pipeline all apply it
    refractory_us: int = 0

    def to_dict(self) -> dict:
        return asdict(self)

    @staticmethod
    def from_dict(d: dict) -> SNNConfig:
        d = dict(d)
        d["layers"] = tuple(ConvSpec(**spec) for spec in d.get("layers", ()))
        for key in ("in_size", "sensor_size", "classes"):
            if key in d:
                d[key] = tuple(d[key])
        return SNNConfig(**d)

    @property
    def neuron(self) -> LIFParameters:
        return LIFParameters(self.tau, self.theta, self.beta)


def nmnist_config() -> SNNConfig:
    """34×34 → 17×17×12 → 9×9×32 → 10 classes; 10 ms bins, 30 bins (300 ms)."""
    return SNNConfig("nmnist-snn", 2, (34, 34), (34, 34), (ConvSpec(12, 5, 2, 2), ConvSpec(32, 3, 2, 1)),
                     10, bin_us=10_000, n_bins=30, classes=tuple(str(d) for d in range(10)))


def gesture_config() -> SNNConfig:
    """128×128 pooled to 32×32 → 16×16×16 → 8×8×32 → 4×4×64 → classes; 25 ms bins, 40 bins (1 s); a readout
    bias (for the reject class) and a 10-ms refractory input filter (a hot pixel at 1 kHz reaches the network
    at ≤ 100 Hz, a moving edge loses little)."""
    from sast_live.formats.dvs_gesture import GESTURE_CLASSES

    return SNNConfig("gesture-snn", 2, (32, 32), (128, 128),
                     (ConvSpec(16, 3, 2, 1), ConvSpec(32, 3, 2, 1), ConvSpec(64, 3, 2, 1)),
                     11, bin_us=25_000, n_bins=40, classes=GESTURE_CLASSES, readout_bias=True, refractory_us=10_000)


def _out_size(size: int, spec: ConvSpec) -> int:
    return (size + 2 * spec.padding - spec.kernel) // spec.stride + 1


class SpikingConvNet(nn.Module):
    """Owns the weights; the dynamics are :func:`models.neurons.lif_step` applied layer by layer."""

    def __init__(self, cfg: SNNConfig):
        super().__init__()
        self.cfg = cfg
        convs, c, (h, w) = [], cfg.in_channels, cfg.in_size
        for spec in cfg.layers:
            convs.append(nn.Conv2d(c, spec.out_channels, spec.kernel, spec.stride, spec.padding, bias=False))
            c, h, w = spec.out_channels, _out_size(h, spec), _out_size(w, spec)
        self.convs = nn.ModuleList(convs)
        self.readout = nn.Linear(c * h * w, cfg.n_classes, bias=cfg.readout_bias)
        if cfg.readout_bias:
            nn.init.zeros_(self.readout.bias)  # no preference until the data give one
        self.feature_shape = (c, h, w)

    def forward(self, x: torch.Tensor, mode: str = "surrogate", record: bool = False):
        """x (T, B, C, H, W) → logits (B, n_classes); with ``record``, also per-layer spikes (T, B, …)."""
        if x.dim() != 5:
            raise ValueError(f"input must be (T, B, C, H, W), got {tuple(x.shape)}")
        p = self.cfg.neuron
        states: list[LIFState | None] = [None] * len(self.convs)
        acc = 0.0
        spikes: list[list[torch.Tensor]] = [[] for _ in self.convs]
        for t in range(x.shape[0]):
            s = x[t]
            for k, conv in enumerate(self.convs):
                i_in = conv(s)
                if states[k] is None:
                    states[k] = initial_state(i_in)  # fresh state on every forward pass
                s, states[k] = lif_step(i_in, states[k], p, mode)
                if record:
                    spikes[k].append(s)
            acc = acc + self.readout(s.flatten(1))
        logits = acc / x.shape[0]
        if record:
            return logits, [torch.stack(layer) for layer in spikes]
        return logits


def build_model(cfg):
    """Rebuild a network from its config (or the config's JSON dict): a :class:`SpikingConvNet`, or the
    convex reconstruction's :class:`models.parallel.ParallelLIFNet` when the config says ``kind: parallel``."""
    from models.parallel import KIND, ParallelConfig, build_parallel

    if isinstance(cfg, ParallelConfig) or (isinstance(cfg, dict) and cfg.get("kind") == KIND):
        return build_parallel(cfg)
    return SpikingConvNet(cfg if isinstance(cfg, SNNConfig) else SNNConfig.from_dict(cfg))


def model_summary(model: SpikingConvNet) -> dict:
    """Parameter count, weight bytes at INT8/INT4 and per-layer shapes."""
    n = sum(p.numel() for p in model.parameters())
    return {"parameters": n, "int8_bytes": n, "int4_bytes": (n + 1) // 2,
            "feature_shape": model.feature_shape, "layers": [tuple(c.weight.shape) for c in model.convs]}
