"""What the pipeline publishes: immutable records the GUI and the CLI only read.

A :class:`Snapshot` is built once per step and never changed; its arrays are private copies marked
read-only, so the worker can go on while a viewer renders an older one.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from models.decision import Explanation, verdict_name


@dataclass(frozen=True)
class WindowResult:
    """One prediction: a window of ``n_bins`` model bins (fresh network state at its start), or, streaming, the
    last ``n_bins`` bins of a network that runs on. ``class_index`` is −1 (``class_name`` "no_gesture") when the
    model's decision says no gesture, −2 ("unfamiliar_scene") when the window is unlike the training data;
    ``top_index``/``top_name`` are the model's own top class either way."""

    t_start_us: int
    t_end_us: int
    class_index: int
    class_name: str
    scores: tuple  # raw readout: int accumulators (integer backends) or mean logits (float backends)
    confidence: float  # calibrated probability of the model's top class (models.decision)
    synops: int
    events: int
    bins: int  # bins run
    dropped_bins: int  # bins skipped because the backend fell behind
    partial: bool = False  # the stream ended before the window was full
    top_index: int = -1
    top_name: str = ""
    energy: float = 0.0  # −T·logsumexp(logits / T): the "unfamiliar scene" score (higher: less familiar)
    #: squared Mahalanobis distance of the last layer's activity from the nearest class (models.decision
    #: FeatureCheck; NaN: the model has no such check)
    distance: float = float("nan")

    def as_json(self) -> dict:
        return {"t_start_us": self.t_start_us, "t_end_us": self.t_end_us, "class": self.class_index,
                "name": self.class_name, "scores": list(self.scores), "confidence": round(self.confidence, 6),
                "synops": self.synops, "events": self.events, "bins": self.bins, "dropped_bins": self.dropped_bins,
                "partial": self.partial, "top_class": self.top_index, "top_name": self.top_name,
                "energy": round(self.energy, 6),
                "distance": None if self.distance != self.distance else round(self.distance, 3)}


def frozen(a: np.ndarray) -> np.ndarray:
    out = np.array(a, copy=True)
    out.flags.writeable = False
    return out


@dataclass(frozen=True)
class Snapshot:
    """The state of the live pipeline after one step. Times in µs of sensor time unless named otherwise.

    Attributes:
        t_us: end of the last bin run.
        frame: (H, W) float32 the event view's image at sensor resolution: ON minus OFF events of the last
            window, faded by age as the pipeline's :class:`~sast_live.transforms.config.EventImageConfig` says.
        classes: class names; confidence (n_classes,) calibrated probabilities of the current window's logits so
            far (streaming: of the last window);
        smoothed: (n_classes,) exponential moving average of ``confidence`` over bins (streaming: the last
            window's); smoothed_top1 its argmax; verdict: what the app says — a class index, −1 for no gesture
            or −2 for an unfamiliar scene (the last window was unlike the training data).
        layer_sizes: neurons per layer; activity: (R, L) spikes per layer in the last R bins (oldest first).
        synops_history / events_history: (R,) per bin; dropped_history: (R,) bool, True for a bin that was dropped
            (not run: its spikes and SynOps are unknown, shown as gaps); synops_total since start; synops_per_s over
            the last second.
        bin_us: the model's bin width; history_age_s: (R,) how long before ``t_us`` each history bin ended (s, ≤ 0);
            synops_rate_history / event_rate_history: (R,) the histories per second.
        energy_uj: synops_total × pJ/SynOp, in µJ.
        arrival_wall: ``time.monotonic()`` when the newest chunk in the last bin arrived (a viewer's latency is
            its render time minus this).
        late_events: events that arrived after their bin had been run (counted, skipped).
        events_in / events_filtered: events that reached the noise filters, and how many they removed;
        events_masked: events the region of interest and the hot-pixel mask removed before them;
        filters: which filters and mask run ("" when none).
        layer_synops_per_s: (L + 1,) SynOps per second over the last second driven by the input (0) and by each
            layer's spikes; pj_per_synop: the energy estimate's pJ per SynOp.
        input_synops / input_synops_saved: SynOps the input drove in the first layer since the start, and those the
            switchable noise filters saved by removing events (the first layer only: deeper layers would need a
            second run of the network).
        input_frame: (C, h, w) the binned, pooled input the network received in the last bin run (None before).
        spike_maps: the last bin's spikes of each layer, (C, H, W) each (empty before the first bin).
        explanation: why the app says what it says (:class:`~models.decision.Explanation`: headline, reason, the bar
            to highlight); rule: the model's decision rule in words.
        decision_latency_s / latency_class: the latest time from the onset of a burst of events to the answer
            that turned from "no gesture" to the gesture ``latency_class`` (None / −1 before any).
    """

    t_us: int
    frame: np.ndarray
    classes: tuple
    confidence: np.ndarray
    smoothed: np.ndarray
    smoothed_top1: int
    verdict: int
    layer_sizes: tuple
    activity: np.ndarray
    synops_history: np.ndarray
    events_history: np.ndarray
    bin_us: int
    synops_total: int
    synops_per_s: float
    energy_uj: float
    events_total: int
    event_rate: float
    arrival_wall: float
    bins_run: int
    dropped_bins: int
    late_events: int
    events_in: int
    events_filtered: int
    filters: str
    backend: str
    source: str
    source_stats: dict = field(default_factory=dict)
    last_window: WindowResult | None = None
    windows: int = 0
    finished: bool = False
    error: str | None = None
    history_age_s: np.ndarray | None = None
    synops_rate_history: np.ndarray | None = None
    event_rate_history: np.ndarray | None = None
    layer_synops_per_s: np.ndarray | None = None
    pj_per_synop: float = 0.0
    input_synops: int = 0
    input_synops_saved: int = 0
    input_frame: np.ndarray | None = None
    spike_maps: tuple = ()
    decision_latency_s: float | None = None
    latency_class: int = -1
    dropped_history: np.ndarray | None = None
    events_masked: int = 0
    explanation: Explanation | None = None
    rule: str = ""

    @property
    def smoothed_name(self) -> str:
        return self.classes[self.smoothed_top1]

    @property
    def verdict_name(self) -> str:
        return verdict_name(self.verdict, self.classes)
