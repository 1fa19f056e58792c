"""What the pipeline tells a viewer: counters, per-bin histories, smoothed confidences, the event view's image,
the decision latency, and the immutable :class:`~sast_live.pipeline.snapshot.Snapshot` that carries them.

Everything a window draws is computed here, on the worker thread, once per published snapshot: the GUI only
colours it (DESIGN.md §8). Times in µs of stream time unless named otherwise.
"""

from __future__ import annotations

import time
from collections import deque

import numpy as np

from models.decision import NO_CLASS, UNFAMILIAR_CLASS, explain, gate_closed, rule_text
from sast_live.pipeline.snapshot import Snapshot, WindowResult, frozen
from sast_live.transforms.config import EventImageConfig
from sast_live.transforms.event_image import accumulate

#: how far back the pipeline keeps events for the event view (its longest window)
RECENT_US = 500_000


def activity_onset(events_per_bin: np.ndarray, factor: float = 3.0, gap_bins: int = 2) -> int | None:
    """Index of the first bin of the burst of activity that runs to the last bin, or None if the last bin is quiet
    or the burst reaches back to the first bin (its start is not in the history: no onset to measure from).

    Quiet is the 20th percentile of the bins (at least 1 event); a bin is active above ``factor`` × that. Up to
    ``gap_bins`` quiet bins inside a burst do not end it (a gesture has pauses between strokes)."""
    e = np.asarray(events_per_bin, np.float64)
    if len(e) == 0:
        return None
    active = e > factor * max(float(np.percentile(e, 20)), 1.0)
    if not active[-1]:
        return None
    k, quiet = len(e) - 1, 0
    onset = k
    while k >= 0:
        if active[k]:
            onset, quiet = k, 0
        else:
            quiet += 1
            if quiet > gap_bins:
                return onset
        k -= 1
    return None


#: a decision latency stays shown this long (µs of stream time) after the answer stopped naming its gesture
LATENCY_STALE_US = 2_000_000


class Telemetry:
    """Counters and histories of one pipeline (one worker thread); :meth:`snapshot` publishes them.

    Attributes:
        bin_us: the model's bin width (the histories are per bin).
        synops_total, events_total, bins_run, dropped, late, n_windows: since the start.
        events_in / events_filtered: events that reached the filters, and how many they removed.
        input_synops / input_synops_saved: SynOps the input drove in the first layer, and those the switchable
            noise filters saved.
        smoothed / last_probs: the confidences shown (a moving average over bins; streaming: the last window's).
        image: how the event view's image is made (window and decay).
    """

    def __init__(self, n_classes: int, bin_us: int, history_bins: int = 120, smoothing: float = 0.15,
                 pj_per_synop: float = 0.0):
        self.bin_us, self.history_bins = int(bin_us), int(history_bins)
        self.smoothing, self.pj = float(smoothing), float(pj_per_synop)
        self.image = EventImageConfig()
        self.activity = deque(maxlen=self.history_bins)
        self.layer_synops_hist = deque(maxlen=self.history_bins)
        self.synops_hist = deque(maxlen=self.history_bins)
        self.events_hist = deque(maxlen=self.history_bins)
        self.dropped_hist = deque(maxlen=self.history_bins)  # True for a bin that was not run
        self.recent: deque = deque()  # the filtered events of the last RECENT_US, chunk by chunk
        self.synops_total = self.events_total = self.bins_run = self.dropped = self.late = self.n_windows = 0
        self.events_in = self.events_filtered = self.events_masked = 0
        self.input_synops = self.input_synops_saved = 0
        self.arrival_wall = time.monotonic()
        self.last_window: WindowResult | None = None
        self.reset_classes(n_classes)
        self._verdict = -1
        self.latency_s: float | None = None
        self.latency_class = -1
        self._left_us: int | None = None  # when the answer stopped naming latency_class
        self.min_latency_us = 0  # shorter is not credited: the answer was decided on what came before the onset

    def reset_classes(self, n: int) -> None:
        """Uniform confidences over ``n`` classes (at the start, and for a model with other classes)."""
        self.smoothed = np.full(n, 1.0 / n)
        self.last_probs = self.smoothed.copy()

    def restart(self, n_classes: int) -> None:
        """After a seek: nothing from before the jump is shown as if it led here."""
        self.reset_classes(n_classes)
        self.last_window = None
        for history in (self.activity, self.layer_synops_hist, self.synops_hist, self.events_hist, self.dropped_hist,
                        self.recent):
            history.clear()
        self._verdict, self.latency_s, self.latency_class, self._left_us = -1, None, -1, None

    # -- what happened ------------------------------------------------------------------------------------------
    def keep_recent(self, events: np.ndarray) -> None:
        self.recent.append(events)
        horizon = int(events["t"][-1]) - RECENT_US
        while self.recent and int(self.recent[0]["t"][-1]) < horizon:
            self.recent.popleft()

    def bins(self, spikes, synops, events, layer_synops, dropped: bool = False) -> None:
        """Histories of bins run (or, ``dropped``, not run: zeros, marked so a viewer shows gaps, not silence):
        spikes (k, L), SynOps (k,), events (k,), SynOps per layer (k, L + 1)."""
        self.dropped_hist.extend([dropped] * len(synops))
        for s, o, e, ls in zip(spikes, synops, events, layer_synops, strict=True):
            self.activity.append(np.asarray(s, np.int64))
            self.layer_synops_hist.append(np.asarray(ls, np.int64))
            self.synops_hist.append(int(o))
            self.events_hist.append(int(e))

    def smooth(self, probs: np.ndarray, n_bins: int) -> None:
        """Move the shown confidences towards ``probs`` as ``n_bins`` bins of exponential smoothing would."""
        a = 1 - (1 - self.smoothing) ** n_bins
        self.smoothed = (1 - a) * self.smoothed + a * probs

    def window(self, res: WindowResult, probs: np.ndarray, streaming: bool) -> None:
        self.last_window, self.last_probs = res, probs
        self.n_windows += 1
        if streaming:  # streaming windows overlap: they need no smoothing
            self.smoothed = probs

    def _latency(self, verdict: int, t_us: int) -> None:
        """When the answer turns to a gesture (from no gesture, an unfamiliar scene or another gesture): the time
        from the first bin of the burst of events that led to it (:func:`activity_onset` over the history, 3 s at
        25-ms bins) to now — if the burst's start is in the history and the time is at least ``min_latency_us``
        (one hop: an answer sooner was decided on what came before). Cleared ``LATENCY_STALE_US`` after the answer
        stopped naming that gesture, so an old figure is never shown beside a new answer."""
        if verdict >= 0 and verdict != self._verdict:
            onset = activity_onset(np.asarray(self.events_hist))
            latency_us = None if onset is None else (len(self.events_hist) - onset) * self.bin_us
            if latency_us is not None and latency_us >= self.min_latency_us:
                self.latency_s, self.latency_class, self._left_us = latency_us * 1e-6, verdict, None
        if self.latency_s is not None and verdict != self.latency_class:
            self._left_us = t_us if self._left_us is None else self._left_us
            if t_us - self._left_us >= LATENCY_STALE_US:
                self.latency_s, self.latency_class, self._left_us = None, -1, None
        elif verdict == self.latency_class:
            self._left_us = None
        self._verdict = verdict

    # -- publishing ---------------------------------------------------------------------------------------------
    def snapshot(self, backend, sensor_size, t_us: int, *, streaming: bool, window_run: int, input_frame,
                 filters: str, source: str, source_stats: dict | None = None, finished: bool = False,
                 error: str | None = None) -> Snapshot:
        """The state after the last step. ``streaming``: predictions over hops (the confidences are the last
        window's); else those of the window under way, which has run ``window_run`` bins."""
        h, w = sensor_size.height, sensor_size.width
        frame = accumulate(self.recent, w, h, self.image.window_us, self.image.decay) if self.recent \
            else np.zeros((h, w), np.float32)
        L = len(backend.layer_sizes)
        activity = np.stack(self.activity) if self.activity else np.zeros((0, L), np.int64)
        syn = np.asarray(self.synops_hist, np.int64)
        layer_syn = np.stack(self.layer_synops_hist) if self.layer_synops_hist else np.zeros((0, L + 1), np.int64)
        evh = np.asarray(self.events_hist, np.int64)
        per_s = 1e6 / self.bin_us
        recent = slice(-max(1, int(per_s)), None)  # the last second of bins
        span_s = max(len(syn[recent]), 1) / per_s
        n_cls = len(backend.classes)
        if streaming:
            conf = self.last_probs
        else:
            conf = backend.decision.probabilities(backend.logits()) if window_run else np.full(n_cls, 1.0 / n_cls)
        verdict = backend.decision.judge(self.smoothed)
        if verdict >= 0 and self.last_window is not None and self.last_window.class_index == UNFAMILIAR_CLASS:
            verdict = UNFAMILIAR_CLASS  # the last window was unlike the training data: no gesture is named
        elif verdict >= 0 and gate_closed(backend.decision, self.last_window):
            verdict = NO_CLASS  # the no-gesture gate closed the last window: it is not named here either
        self._latency(verdict, t_us)
        return Snapshot(
            t_us=t_us, frame=frozen(frame), classes=tuple(backend.classes), confidence=frozen(conf),
            smoothed=frozen(self.smoothed), smoothed_top1=int(np.argmax(self.smoothed)), verdict=verdict,
            layer_sizes=tuple(backend.layer_sizes), activity=frozen(activity), synops_history=frozen(syn),
            events_history=frozen(evh), bin_us=self.bin_us,
            dropped_history=frozen(np.asarray(self.dropped_hist, bool)),
            history_age_s=frozen((np.arange(len(evh)) - len(evh) + 1) / per_s),
            synops_rate_history=frozen(syn * per_s), event_rate_history=frozen(evh * per_s),
            synops_total=int(self.synops_total), synops_per_s=float(syn[recent].sum() / span_s),
            energy_uj=self.synops_total * self.pj * 1e-6, events_total=int(self.events_total),
            event_rate=float(evh[recent].sum() / span_s), arrival_wall=self.arrival_wall,
            bins_run=self.bins_run, dropped_bins=self.dropped, late_events=self.late, events_in=self.events_in,
            events_filtered=self.events_filtered, events_masked=self.events_masked, filters=filters,
            backend=backend.label, source=source,
            source_stats=dict(source_stats or {}), last_window=self.last_window, windows=self.n_windows,
            finished=finished, error=error, layer_synops_per_s=frozen(layer_syn[recent].sum(0) / span_s),
            pj_per_synop=self.pj, input_synops=self.input_synops, input_synops_saved=self.input_synops_saved,
            input_frame=None if input_frame is None else frozen(input_frame),
            spike_maps=tuple(frozen(m) for m in backend.spike_maps()) if self.bins_run else (),
            decision_latency_s=self.latency_s, latency_class=self.latency_class,
            explanation=explain(backend.decision, self.smoothed, verdict, backend.classes, self.last_window),
            rule=rule_text(backend.decision, backend.classes))
