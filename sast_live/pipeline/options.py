"""What runs on a stream, and the one place its milliseconds become the model's bins.

:class:`PipelineOptions` is what a user chooses (``--model``, ``--precision``, ``--hop-ms``, ``--window-ms``,
``--taper``, the noise filters, the energy estimate's pJ). The :class:`~sast_live.pipeline.Pipeline` reads its
hop and window in bins from :meth:`PipelineOptions.hop_bins` / :meth:`PipelineOptions.window_bins`, and so does
every evaluation that streams a recording the way the app does (``training``): no other code converts them.
"""

from __future__ import annotations

from dataclasses import dataclass

from firmware_sim.energy import DEFAULT_PJ_PER_SYNOP, check_pj_per_synop
from firmware_sim.precisions import Precision, get_precision
from models.decision import TAPERS
from sast_live.errors import SastLiveError
from sast_live.transforms.fit import FITS

#: the filters' windows when the GUI switches them on without values from the command line
DEFAULT_DENOISE_US = 10_000
DEFAULT_REFRACTORY_US = 1_000
#: the live app's prediction interval
DEFAULT_HOP_MS = 250


@dataclass(frozen=True)
class PipelineOptions:
    """What runs on the stream.

    Attributes:
        model: training checkpoint or exported firmware folder; None = the bundled SAST gesture model.
        precision: a row of :mod:`firmware_sim.precisions` (float, hard, int8, int4, wide), given as the row or its
            name (turned into the row here, once); None = the model's own (int8 for a checkpoint, an exported
            folder's precision for firmware).
        pj_per_synop: energy per synaptic operation for the estimate (pJ).
        denoise_us: background-activity filter window (µs), or None for no filter.
        refractory_us: per-pixel refractory period (µs), or None for no filter.
        hop_ms: a prediction every ``hop_ms`` over the last window, the network state running on (0: one
            window after another, each with fresh state, as in training).
        window_ms: the window a streaming prediction averages over (default: the one stored with the model's
            decision, else the model's own window).
        taper: how a streaming window weighs its hops: ``flat`` (a plain mean) or ``linear`` (newer hops count
            more; :mod:`sast_live.pipeline.windows`); default: the model decision's.
        fit: how a source larger than the model's sensor is put onto it (``pool`` or ``crop``,
            :mod:`sast_live.transforms.fit`); None: such a source is refused.
        roi: ``(x0, y0, x1, y1)``: only events inside this rectangle of the stream's pixels reach the network
            (:mod:`sast_live.transforms.mask`; x1, y1 exclusive; checked against the sensor when a stream opens).
    """

    model: str | None = None
    precision: Precision | str | None = None
    pj_per_synop: float = DEFAULT_PJ_PER_SYNOP
    denoise_us: int | None = None
    refractory_us: int | None = None
    hop_ms: int = DEFAULT_HOP_MS
    window_ms: int | None = None
    taper: str | None = None
    fit: str | None = None
    roi: tuple[int, int, int, int] | None = None

    def __post_init__(self):
        if isinstance(self.precision, str):
            object.__setattr__(self, "precision", get_precision(self.precision))
        check_pj_per_synop(self.pj_per_synop)
        if self.denoise_us is not None and self.denoise_us <= 0:
            raise SastLiveError(f"--denoise-us must be a positive number of µs, got {self.denoise_us}")
        if self.refractory_us is not None and self.refractory_us < 0:
            raise SastLiveError(f"--refractory-us must be ≥ 0 µs, got {self.refractory_us}")
        if self.fit is not None and self.fit not in FITS:
            raise SastLiveError(f"--fit must be one of {', '.join(FITS)}, got {self.fit!r}")
        if self.taper is not None and self.taper not in TAPERS:
            raise SastLiveError(f"--taper must be one of {', '.join(TAPERS)}, got {self.taper!r}")
        if self.hop_ms < 0:
            raise SastLiveError(f"--hop-ms must be ≥ 0 ms (0: one window after another), got {self.hop_ms}")
        if self.window_ms is not None and (self.window_ms < self.hop_ms or not self.hop_ms):
            raise SastLiveError(f"--window-ms {self.window_ms} must be at least one hop (--hop-ms {self.hop_ms}, "
                                "not 0)")

    def hop_bins(self, backend) -> int | None:
        """``hop_ms`` in the model's bins (at least 1, at most a window); None for back-to-back windows."""
        if not self.hop_ms:
            return None
        return max(1, min(backend.n_bins, round(self.hop_ms * 1000 / backend.bin_cfg.bin_us)))

    def window_bins(self, backend) -> int | None:
        """``window_ms`` (else the model decision's) in the model's bins; None: the model's window (and always
        for back-to-back windows)."""
        ms = self.window_ms if self.window_ms is not None else backend.decision.window_ms
        if ms is None or not self.hop_ms:
            return None
        return max(self.hop_bins(backend), round(ms * 1000 / backend.bin_cfg.bin_us))

    def taper_for(self, backend) -> str:
        """``taper``, else the model decision's."""
        return self.taper if self.taper is not None else backend.decision.taper

    @property
    def filters_on(self) -> bool:
        return self.denoise_us is not None or self.refractory_us is not None


#: one window after another, each with fresh network state: the windows the network was trained on
TRAINING_WINDOWS = PipelineOptions(hop_ms=0)
