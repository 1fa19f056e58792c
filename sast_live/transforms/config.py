"""Parameters of the transforms as frozen dataclasses: plain data that prints, compares and saves."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sast_live.errors import SastLiveError
from sast_live.events import SensorSize, as_sensor_size


@dataclass(frozen=True)
class BinConfig:
    """Binning of events into ``(T, 2, H', W')`` count frames.

    Attributes:
        sensor_size: input geometry (width, height) in pixels.
        bin_us: bin width in µs (integer edges ``t0 + k·bin_us``).
        out_size: output (width, height); must divide the sensor size (128×128 → 32×32 pools 4×4 pixels).
            None keeps the sensor size.
        dtype: frame dtype; counts saturate at its maximum instead of wrapping.
    """

    sensor_size: tuple[int, int]
    bin_us: int = 1000
    out_size: tuple[int, int] | None = None
    dtype: str = "int16"

    def __post_init__(self):
        size = as_sensor_size(self.sensor_size)
        object.__setattr__(self, "sensor_size", size)
        out = size if self.out_size is None else as_sensor_size(self.out_size)
        object.__setattr__(self, "out_size", out)
        if int(self.bin_us) <= 0:
            raise SastLiveError(f"bin_us must be a positive integer, got {self.bin_us}")
        object.__setattr__(self, "bin_us", int(self.bin_us))
        if size.width % out.width or size.height % out.height:
            raise SastLiveError(f"output size {out.width}x{out.height} must divide the sensor size "
                                f"{size.width}x{size.height}")
        if np.dtype(self.dtype).kind not in "iu":
            raise SastLiveError(f"frame dtype must be an integer type, got {self.dtype}")

    @property
    def factors(self) -> tuple[int, int]:
        """Pooling factors (fx, fy)."""
        return (self.sensor_size.width // self.out_size.width, self.sensor_size.height // self.out_size.height)

    @property
    def frame_shape(self) -> tuple[int, int, int]:
        """Shape of one frame: (2 polarities, H', W'); channel 0 = OFF, 1 = ON."""
        return (2, self.out_size.height, self.out_size.width)


@dataclass(frozen=True)
class DenoiseConfig:
    """Background-activity filter: keep an event if a 4-neighbour fired less than ``filter_us`` before it."""

    sensor_size: SensorSize
    filter_us: int = 10_000

    def __post_init__(self):
        object.__setattr__(self, "sensor_size", as_sensor_size(self.sensor_size))
        if int(self.filter_us) <= 0:
            raise SastLiveError(f"filter_us must be positive, got {self.filter_us}")


@dataclass(frozen=True)
class RefractoryConfig:
    """Refractory filter: drop an event if its pixel emitted a kept event less than ``refractory_us`` before."""

    sensor_size: SensorSize
    refractory_us: int = 1_000

    def __post_init__(self):
        object.__setattr__(self, "sensor_size", as_sensor_size(self.sensor_size))
        if int(self.refractory_us) < 0:
            raise SastLiveError(f"refractory_us must be ≥ 0, got {self.refractory_us}")


@dataclass(frozen=True)
class EventImageConfig:
    """The event view's image (:func:`sast_live.transforms.event_image.accumulate`): events of the last
    ``window_us`` (5 ms … 500 ms, what a pipeline keeps), faded by ``decay`` (``none``, ``linear``,
    ``exponential``)."""

    window_us: int = 50_000
    decay: str = "none"

    def __post_init__(self):
        from sast_live.transforms.event_image import DECAYS

        if not 1 <= int(self.window_us) <= 500_000:
            raise SastLiveError(f"the event view's window must be 1 µs … 500 ms, got {self.window_us} µs")
        object.__setattr__(self, "window_us", int(self.window_us))
        if self.decay not in DECAYS:
            raise SastLiveError(f"decay must be one of {DECAYS}, got {self.decay!r}")

