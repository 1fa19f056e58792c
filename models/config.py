"""What rebuilds a network, as plain frozen dataclasses with no torch: the event networks' :class:`SNNConfig`
(and their layers' :class:`ConvSpec`), the sequence networks' :class:`ParallelConfig`, the neuron's
:class:`LIFParameters`, and the one convolution-geometry formula (:func:`conv_out`).

Each value is defined once here: the networks (``models/networks.py``, ``models/sequence_net.py``) build from
these, the checkpoint schema takes its defaults and field names from them, the quantizer and the firmware file use
:func:`conv_out`, and an event network says how events become its input (:meth:`SNNConfig.bin_config`). It imports
neither torch nor numba, so ``firmware_sim`` and the CLI's ``--help`` can read it.

Default neuron hyper-parameters of the event networks (in the configs below), and why:

* ``tau = 0.8`` per 10 ms bin (N-MNIST) / 25 ms bin (gestures): a membrane time constant of
  −Δt/ln(0.8) ≈ 45 ms / 110 ms, about one N-MNIST saccade / one gesture stroke, so evidence is integrated
  over a movement but not across the whole sample;
* ``theta = 1.0``: a unit threshold; weight scale is learned relative to it (and quantized relative to it);
* ``beta = 5``: the sigmoid reaches 0.007/0.993 at ±1 threshold, steep enough that the surrogate-forward
  network behaves much like the hard one, smooth enough that gradients reach every neuron.
"""

from __future__ import annotations

from dataclasses import MISSING, asdict, dataclass, field, fields
from typing import NamedTuple

from sast_live.errors import SastLiveError
from sast_live.transforms.config import BinConfig


class LIFParameters(NamedTuple):
    """tau: leak factor per time step (0–1); theta: threshold; beta: sigmoid slope (1/threshold units)."""

    tau: float = 0.9
    theta: float = 1.0
    beta: float = 5.0


def conv_out(size: int, kernel: int, stride: int, padding: int) -> int:
    """Output length of a convolution along one axis (PyTorch's formula, dilation 1)."""
    return (size + 2 * padding - kernel) // stride + 1


@dataclass(frozen=True)
class ConvSpec:
    """One hidden layer: ``out_channels``, square ``kernel``, ``stride``, ``padding``."""

    out_channels: int
    kernel: int = 3
    stride: int = 2
    padding: int = 1

    def out_size(self, size: int) -> int:
        return conv_out(size, self.kernel, self.stride, self.padding)


@dataclass(frozen=True)
class SNNConfig:
    """Everything needed to rebuild an event network (saved as JSON beside the weights)."""

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
    # the readout weighs a channel's spikes the same at every position of the last layer (a global sum per
    # channel): what the network says does not depend on where in the view it happens. Stored as the full
    # (classes, C·H·W) matrix with equal columns per channel, so the integer simulator and the C export need nothing new
    readout_tied: bool = False

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

    def bin_config(self) -> BinConfig:
        """How the sensor's events become this network's input frames: ``bin_us`` bins, pooled to ``in_size``,
        uint8 counts (saturating). Training, evaluation and every live backend bin with this one config."""
        h, w = self.in_size
        return BinConfig(tuple(self.sensor_size), self.bin_us, (w, h), "uint8")

    @property
    def pooling(self) -> int:
        """Sensor pixels per network input pixel."""
        return (self.sensor_size[0] // self.in_size[1]) * (self.sensor_size[1] // self.in_size[0])


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


def standard_config(sensor_size) -> SNNConfig | None:
    """The network defined for a sensor of ``sensor_size`` (W, H): 34×34 → :func:`nmnist_config`, 128×128 →
    :func:`gesture_config`; None for any other sensor."""
    return {(34, 34): nmnist_config, (128, 128): gesture_config}.get(tuple(int(v) for v in sensor_size), lambda: None)()


def input_factor(cfg: SNNConfig) -> int:
    """How many times finer than its sensor's standard network (:func:`standard_config`) a network's input is, per
    side: 1 for the standard input (gestures 32×32), 2 for a 64×64 gesture input (``train --in-size 64``). Training's
    shift ranges are in pixels of the standard input, so a finer input multiplies them by this to move a person
    the same distance on the sensor."""
    std = standard_config(cfg.sensor_size)
    if std is None:
        return 1
    return max(1, int(cfg.in_size[1]) // int(std.in_size[1]))


FEATURES = ("spike", "membrane", "count")
KIND = "parallel"  # the ``kind`` of a sequence network's config in a checkpoint


@dataclass(frozen=True)
class ParallelConfig:
    """Everything needed to rebuild a sequence network (:mod:`models.sequence_net`; saved as JSON beside the
    weights): ``branches`` independent chains of fully connected LIF layers of ``widths``."""

    name: str
    n_in: int
    branches: int = 1024
    widths: tuple[int, ...] = (16, 1)
    n_classes: int = 2
    tau: float = 0.9
    theta: float = 1.0
    beta: float = 5.0
    features: str = "spike"
    per_step: bool = False
    classes: tuple[str, ...] = ()
    #: autoregressive: input channels ``n_in − 1 − feedback … n_in − 2`` (just before the constant-1 channel) hold
    #: the previous step's output token, one-hot over the classes (:meth:`~models.sequence_net.ParallelLIFNet.generate`)
    feedback: int = 0
    kind: str = KIND

    def __post_init__(self):
        if self.features not in FEATURES:
            raise SastLiveError(f"features must be one of {FEATURES}, got {self.features!r}")
        if self.n_in < 1 or self.branches < 1 or not self.widths or min(self.widths) < 1:
            raise SastLiveError(f"need n_in, branches and every width ≥ 1, got {self.n_in}, {self.branches}, "
                                f"{self.widths}")
        if self.feedback and (not self.per_step or self.feedback != self.n_classes or self.n_in < self.feedback + 2):
            raise SastLiveError(f"feedback of the previous output needs a per-step readout, one channel per class "
                                f"({self.n_classes}) and room before the constant channel; got feedback "
                                f"{self.feedback}, n_in {self.n_in}, per_step {self.per_step}")

    @property
    def n_features(self) -> int:
        return self.branches * self.widths[-1]

    @property
    def neuron(self) -> LIFParameters:
        return LIFParameters(self.tau, self.theta, self.beta)

    def to_dict(self) -> dict:
        return asdict(self)

    @staticmethod
    def from_dict(d: dict) -> ParallelConfig:
        d = dict(d)
        for key in ("widths", "classes"):
            if key in d:
                d[key] = tuple(d[key])
        return ParallelConfig(**d)


def defaults(cls) -> dict:
    """``field name → default`` of a config dataclass (fields without one left out), as JSON would hold them
    (tuples as lists): what a checkpoint's missing field means."""
    out = {}
    for f in fields(cls):
        value = f.default if f.default is not MISSING else (f.default_factory() if f.default_factory is not MISSING
                                                            else MISSING)
        if value is not MISSING:
            out[f.name] = list(value) if isinstance(value, tuple) else value
    return out
