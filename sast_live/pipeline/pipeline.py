"""The live pipeline as one synchronous object: events in → bins → backend → predictions and a snapshot.

    pipe = Pipeline(load_backend(None, "int8"), source.sensor_size)
    for chunk in source:
        for window in pipe.process(chunk, watermark=source.clock_us()):
            print(window.as_json())
    pipe.finish()

Filters run first, with their state carried across chunks (:mod:`sast_live.transforms.filters`): the model's
own input filter (``refractory_us`` of its config: always on, as in its training), then the optional noise
filters (a refractory period per pixel, then the background-activity filter); what they remove is counted. Bins
are the model's (``bin_us``, pooled to its input size) with integer edges from the first event.

Predictions come in one of two ways. By default (``hop_bins=None``) a window is the model's ``n_bins`` bins with
fresh network state, as in training, one after the other. With ``hop_bins=h`` (the live app: 250 ms) the network
state runs on and a prediction comes every ``h`` bins over the last ``n_bins`` bins: the readout is taken (and
cleared, as a sensor would) every hop, and a window's readout is the sum of its last ``n_bins / h`` hops — the
same mean readout the network was trained on, at 1× the compute (no overlapping copies of the network). With
``taper="linear"`` the hops are weighted 1, 2, …, n from the oldest to the newest (the readout becomes
Σ wₖ·accₖ / Σ wₖ·stepsₖ: still a mean readout, but the last half-window holds 70 % of the weight of a 4-hop
window), so a gesture that just started outweighs the one before it sooner — a leaky readout the host computes
from the hops the sensor reports, with no change on the sensor.
Each prediction goes through the model's :class:`~models.decision.Decision` (calibrated confidences, "no
gesture" as class −1). With
``realtime=True`` a bin that ends more than ``max_lag_us`` before the live edge (where the source is *now*, not
where it was when the chunk was queued) is dropped whole (never half) and counted: a slow backend loses bins,
never the source's events or its order, and never falls further behind than ``max_lag_us``.
"""

from __future__ import annotations

import time
from collections import deque
from typing import NamedTuple

import numpy as np

from firmware_sim.energy import DEFAULT_PJ_PER_SYNOP
from models.decision import NO_CLASS, NO_GESTURE, TAPERS
from sast_live.errors import SastLiveError
from sast_live.events import SensorSize
from sast_live.pipeline.snapshot import Snapshot, WindowResult, frozen
from sast_live.transforms import filters
from sast_live.transforms.binning import bin_events, flush, initial_carry
from sast_live.transforms.config import BinConfig, DenoiseConfig, RefractoryConfig


class BinRow(NamedTuple):
    """One bin for a per-bin export: its end (µs of stream time), events in it, whether it was dropped, the SynOps
    the input and each layer drove (L + 1), the readout after it (accumulators or logits), and what the app said
    then (the latest window's class; "" before the first window)."""

    t_end_us: int
    events: int
    dropped: bool
    layer_synops: tuple
    scores: tuple
    said: str


#: how far back the snapshot's events reach (the event view accumulates up to this)
RECENT_US = 500_000


def warm_up(backend, sensor_size: SensorSize) -> None:
    """Compile (or load from numba's cache) every kernel a pipeline of ``backend`` on this sensor runs — binning,
    the filters (they can be switched on any time), the network — so the first live bins are not late. Touches
    no state of ``backend``: a session calls it before it opens a port, while another stream may still run."""
    from sast_live.events import make_events

    two = make_events([0, backend.bin_cfg.bin_us], [0, 0], [0, 0], [1, 1])
    # numba compiles per array layout: a chunk of one event has contiguous field views, longer ones strided
    for events in (two, two[:1]):
        for cfg in (backend.bin_cfg, BinConfig(tuple(sensor_size), backend.bin_cfg.bin_us, None, "int32")):
            bin_events(events, initial_carry(cfg), cfg, int(events["t"][-1]) + 1)
        filters.denoise(events, None, DenoiseConfig(sensor_size))
        filters.refractory(events, None, RefractoryConfig(sensor_size))
    backend.warm_up()


def hop_weights(n: int, taper: str) -> np.ndarray:
    """Integer weights of a streaming window's ``n`` hops, oldest first: all 1 (``flat``) or 1…n (``linear``)."""
    return np.ones(n, np.int64) if taper == "flat" else np.arange(1, n + 1, dtype=np.int64)


def _checked_taper(taper: str) -> str:
    if taper not in TAPERS:
        raise SastLiveError(f"window taper must be one of {', '.join(TAPERS)}, got {taper!r}")
    return taper


class Pipeline:
    """Owns binning carries, the backend and the counters; every method runs on one (worker) thread."""

    def __init__(self, backend, sensor_size: SensorSize, source_name: str = "", *, realtime: bool = False,
                 max_lag_us: int = 250_000, accumulate_us: int = 50_000, history_bins: int = 120,
                 smoothing: float = 0.15, pj_per_synop: float = DEFAULT_PJ_PER_SYNOP,
                 denoise_us: int | None = None, refractory_us: int | None = None, hop_bins: int | None = None,
                 window_bins: int | None = None, taper: str = "flat"):
        self.sensor_size = SensorSize(*sensor_size)
        if hop_bins is not None and not 1 <= int(hop_bins) <= backend.n_bins:
            raise SastLiveError(f"a prediction every {hop_bins} bins: must be 1 to the window's {backend.n_bins} bins")
        self.hop_request = None if hop_bins is None else int(hop_bins)
        if window_bins is not None and (hop_bins is None or int(window_bins) < int(hop_bins)):
            raise SastLiveError("a streaming window (window_bins) needs hop_bins, and at least one hop")
        self.window_request = None if window_bins is None else int(window_bins)  # default: the model's n_bins
        self.taper = _checked_taper(taper)
        self.source_name, self.realtime, self.max_lag_us = source_name, realtime, int(max_lag_us)
        self.accumulate_us, self.smoothing, self.pj = int(accumulate_us), float(smoothing), float(pj_per_synop)
        self.history_bins = int(history_bins)
        self._pending_backend = None
        self._pending_window: tuple[int | None, str | None] = (None, None)  # comes with the pending backend
        self._install(backend)
        self.carry = initial_carry(self.cfg)
        self.display_carry = initial_carry(self.display_cfg)
        n_display = max(1, -(-self.accumulate_us // self.cfg.bin_us))
        self.display_frames = deque(maxlen=n_display)
        self.activity = deque(maxlen=self.history_bins)
        self.layer_synops_hist = deque(maxlen=self.history_bins)
        self.recent: deque = deque()  # the filtered events of the last RECENT_US, chunk by chunk (the event view)
        self.input_frame: np.ndarray | None = None  # the network's input in the last bin run
        #: called with a :class:`BinRow` for every bin (run or dropped) while set; the bins then run one at a time
        self.bin_sink = None
        self.synops_hist = deque(maxlen=self.history_bins)
        self.events_hist = deque(maxlen=self.history_bins)
        self.synops_total = self.events_total = self.bins_run = self.dropped = self.late = self.n_windows = 0
        self.events_in = self.events_filtered = 0  # before the filters, and what they removed
        # the input layer's SynOps: all, and those the user's filters saved (the events they removed would have
        # driven them; exact while no pooled pixel saturates its uint8 count in a bin)
        self.input_synops = self.input_synops_saved = 0
        self.set_filters(denoise_us, refractory_us)
        self.t_us = 0
        self.arrival_wall = time.monotonic()
        self.last_window: WindowResult | None = None
        self.smoothed = np.full(len(self.backend.classes), 1.0 / len(self.backend.classes))
        self.last_probs = self.smoothed.copy()
        self._warm_up()
        self._new_window(None)

    def _warm_up(self) -> None:
        warm_up(self.backend, self.sensor_size)

    # -- filters ------------------------------------------------------------------------------------------
    def set_filters(self, denoise_us: int | None, refractory_us: int | None) -> None:
        """Switch the noise filters (None = off) from the next chunk on; each starts with a fresh state."""
        self.denoise_cfg = None if denoise_us is None else DenoiseConfig(self.sensor_size, denoise_us)
        self.refractory_cfg = None if refractory_us is None else RefractoryConfig(self.sensor_size, refractory_us)
        self.denoise_state = self.refractory_state = None

    @property
    def filter_label(self) -> str:
        on = []
        if self.model_filter_cfg is not None:
            on.append(f"model's refractory {self.model_filter_cfg.refractory_us} µs")
        if self.refractory_cfg is not None:
            on.append(f"refractory {self.refractory_cfg.refractory_us} µs")
        if self.denoise_cfg is not None:
            on.append(f"denoise {self.denoise_cfg.filter_us} µs")
        return " + ".join(on)

    def _filter(self, events: np.ndarray) -> np.ndarray:
        self.events_in += len(events)
        n = len(events)
        if n and self.model_filter_cfg is not None:  # the network's input, as it was trained
            events, self.model_filter_state = filters.refractory(events, self.model_filter_state,
                                                                 self.model_filter_cfg)
        before = events
        if len(events) and self.refractory_cfg is not None:  # rate-limits hot pixels before the neighbourhood test
            events, self.refractory_state = filters.refractory(events, self.refractory_state, self.refractory_cfg)
        if len(events) and self.denoise_cfg is not None:
            events, self.denoise_state = filters.denoise(events, self.denoise_state, self.denoise_cfg)
        self.events_filtered += n - len(events)
        if len(events) != len(before):
            self.input_synops_saved += self._input_synops(before) - self._input_synops(events)
        return events

    def _input_synops(self, events: np.ndarray) -> int:
        """The SynOps ``events`` drive in the first layer (each event: its pooled position's fan-out)."""
        fan = self.backend.input_fanout
        fy, fx = self.sensor_size.height // fan.shape[0], self.sensor_size.width // fan.shape[1]
        return int(fan[events["y"] // fy, events["x"] // fx].sum())

    # -- backend ------------------------------------------------------------------------------------------
    def check_backend(self, backend) -> None:
        """Raise if ``backend`` cannot run on this stream (sensor geometry, binning); changes nothing."""
        if tuple(backend.bin_cfg.sensor_size) != tuple(self.sensor_size):
            s, m = self.sensor_size, backend.bin_cfg.sensor_size
            raise SastLiveError(f"the source is {s.width}×{s.height} pixels but the model expects "
                                f"{m.width}×{m.height}; pick a matching model or source")
        old = getattr(self, "cfg", None)
        if old is not None and (old.bin_us != backend.bin_cfg.bin_us or old.out_size != backend.bin_cfg.out_size):
            raise SastLiveError("the new model bins events differently (bin width or input size); restart instead")

    def _install(self, backend) -> None:
        self.check_backend(backend)
        self.backend = backend
        self.cfg: BinConfig = backend.bin_cfg
        us = int(getattr(backend, "input_refractory_us", 0) or 0)
        self.model_filter_cfg = RefractoryConfig(self.sensor_size, us) if us else None
        self.model_filter_state = None
        # streaming: hops of at most a window; a window is the last round(n_bins / hop) of them
        self.hop_bins = None if self.hop_request is None else min(self.hop_request, backend.n_bins)
        self.window_bins = self.window_request or backend.n_bins
        self.hops: deque = deque(maxlen=max(1, round(self.window_bins / self.hop_bins)) if self.hop_bins else 1)
        n = len(backend.classes)
        if getattr(self, "smoothed", None) is not None and len(self.smoothed) != n:  # a model with other classes
            self.smoothed = self.last_probs = np.full(n, 1.0 / n)
        self.display_cfg = BinConfig(tuple(self.sensor_size), self.cfg.bin_us, None, "int32")

    def set_backend(self, backend, window_bins: int | None = None, taper: str | None = None) -> None:
        """Switch network or precision at the next bin; the window under way ends there (marked partial).
        Streaming, ``window_bins``/``taper`` (when given) replace the window and its taper from then on."""
        self._pending_backend = backend
        self._pending_window = (window_bins, None if taper is None else _checked_taper(taper))

    def _new_window(self, t0: int | None, fresh: bool = False) -> None:
        """Start a window (or, streaming, a hop) at ``t0``; the network state is fresh for a window, and for a
        hop only when ``fresh`` (start, model switch)."""
        self.w_start, self.w_bins, self.w_run, self.w_dropped, self.w_events, self.w_synops = t0, 0, 0, 0, 0, 0
        if self.hop_bins is None or fresh:
            self.backend.reset()
            self.hops.clear()

    def _result(self, logits, scores, t_start, t_end, synops, events, run, dropped, partial) -> WindowResult:
        k, conf, probs = self.backend.decision.decide(logits)
        top = int(np.argmax(probs))
        res = WindowResult(int(t_start), int(t_end), k, NO_GESTURE if k == NO_CLASS else self.backend.classes[k],
                           tuple(np.asarray(scores).tolist()), conf, int(synops), int(events), int(run),
                           int(dropped), partial, top, self.backend.classes[top])
        self.last_window, self.last_probs = res, probs
        self.n_windows += 1
        return res

    def _close_window(self, partial: bool) -> WindowResult | None:
        if self.hop_bins is not None:
            return self._close_hop(partial)
        if self.w_start is None or self.w_run == 0 or (partial and self.w_events == 0):
            # a stream's tail of silence is not a prediction, nor is a window whose every bin was dropped
            # (the network never saw it: its bins are counted in ``dropped``)
            return None
        return self._result(self.backend.logits(), self.backend.scores(), self.w_start,
                            self.w_start + self.w_bins * self.cfg.bin_us, self.w_synops, self.w_events, self.w_run,
                            self.w_dropped, partial)

    def _close_hop(self, partial: bool) -> WindowResult | None:
        """Streaming: bank this hop's readout; a window over the last hops once there are enough of them (or
        the stream ends)."""
        if self.w_start is None:
            return None
        acc, steps = self.backend.take_readout()
        self.hops.append((self.w_start, acc, steps, self.w_synops, self.w_events, self.w_run, self.w_dropped,
                          self.w_bins))
        if not (len(self.hops) == self.hops.maxlen or partial):
            return None
        return self._window_of_hops(partial)

    def _window_of_hops(self, partial: bool) -> WindowResult | None:
        start, accs, run_steps, synops, events, run, dropped, bins = zip(*self.hops, strict=True)
        if sum(run) == 0 or (partial and sum(events) == 0):
            return None
        w = hop_weights(len(accs), self.taper)
        acc = w @ np.asarray(accs)  # (hops,) · (hops, n_classes)
        return self._result(self.backend.to_logits(acc, int(np.dot(w, run_steps))), acc, start[0],
                            start[-1] + bins[-1] * self.cfg.bin_us, sum(synops), sum(events), sum(run),
                            sum(dropped), sum(bins) < self.hops.maxlen * self.hop_bins)

    # -- processing ---------------------------------------------------------------------------------------
    def process(self, events: np.ndarray, watermark: int | None = None, arrival: float | None = None,
                live_edge: int | None = None) -> list[WindowResult]:
        """Take one chunk (EVENT_DTYPE, t non-decreasing); returns the windows it completed.

        ``watermark``: sensor time up to which the source had delivered everything with this chunk (closes bins
        in silence). ``arrival``: ``time.monotonic()`` when the chunk arrived (for latency). ``live_edge``: the
        source's position now (default: the watermark); realtime bins older than it by ``max_lag_us`` drop.
        """
        if arrival is not None:
            self.arrival_wall = arrival
        if self.carry.t_open is not None and len(events) and events["t"][0] < self.carry.t_open:
            keep = events["t"] >= self.carry.t_open  # late events belong to bins already run: count, skip
            self.late += int(len(events) - keep.sum())
            events = events[keep]
        events = self._filter(events)
        if len(events):
            self._keep_recent(events)
        if self.carry.t_open is None and len(events) == 0:
            return []
        t_first_bin = self.carry.t_open if self.carry.t_open is not None else int(events["t"][0])
        if self.display_carry.t_open is None:
            self.display_carry = initial_carry(self.display_cfg, t_first_bin)
        frames, self.carry = bin_events(events, self.carry, self.cfg, watermark)
        display, self.display_carry = bin_events(events, self.display_carry, self.display_cfg, watermark)
        return self._run_bins(frames, display, t_first_bin, watermark if live_edge is None else live_edge)

    def _run_frames(self, frames: np.ndarray, ends: np.ndarray, counts: np.ndarray):
        """The backend over ``frames``; with a :attr:`bin_sink`, one bin at a time and a row for each."""
        if self.bin_sink is None:
            return self.backend.run(frames)
        outs = []
        for f, end, n in zip(frames, ends, counts, strict=True):
            out = self.backend.run(f[None])
            outs.append(out)
            said = self.last_window.class_name if self.last_window is not None else ""
            self.bin_sink(BinRow(int(end), int(n), False, tuple(int(v) for v in out.layer_synops[0]),
                                 tuple(np.asarray(self.backend.scores()).tolist()), said))
        return type(outs[0])(*(np.concatenate(parts) for parts in zip(*outs, strict=True)))

    def _keep_recent(self, events: np.ndarray) -> None:
        self.recent.append(events)
        horizon = int(events["t"][-1]) - RECENT_US
        while self.recent and int(self.recent[0]["t"][-1]) < horizon:
            self.recent.popleft()

    def _run_bins(self, frames, display, t0: int, live_edge: int | None) -> list[WindowResult]:
        out: list[WindowResult] = []
        bin_us, n_bins = self.cfg.bin_us, self.backend.n_bins
        i = 0
        while i < len(frames):
            if self._pending_backend is not None:
                win = self._close_window(partial=True)
                out += [win] if win else []
                window_bins, taper = self._pending_window
                if window_bins is not None and self.hop_request is not None:
                    self.window_request = max(int(window_bins), self.hop_request)
                self.taper = taper or self.taper
                self._install(self._pending_backend)
                self._pending_backend = None
                n_bins = self.backend.n_bins
                self._new_window(None, fresh=True)
            if self.w_start is None:
                self._new_window(t0 + i * bin_us)
            segment = self.hop_bins or n_bins
            room = segment - self.w_bins
            j = min(len(frames), i + room)
            ends = t0 + (np.arange(i, j) + 1) * bin_us
            if self.realtime and live_edge is not None:
                late = ends < live_edge - self.max_lag_us
                n_drop = int(np.argmin(late)) if not late.all() else len(late)  # drop the oldest ones only
            else:
                n_drop = 0
            counts = display[i:j].sum(axis=(1, 2, 3))
            self.w_events += int(counts.sum())
            self.events_total += int(counts.sum())
            for f in display[i:j]:
                self.display_frames.append(f)
            if n_drop:
                self.dropped += n_drop
                self.w_dropped += n_drop
                L = len(self.backend.layer_sizes)
                self._history(np.zeros((n_drop, L), np.int64), np.zeros(n_drop), counts[:n_drop],
                              np.zeros((n_drop, L + 1), np.int64))
                if self.bin_sink is not None:
                    for b in range(n_drop):
                        self.bin_sink(BinRow(int(ends[b]), int(counts[b]), True, (0,) * (L + 1), (), ""))
            if j - i > n_drop:
                res = self._run_frames(frames[i + n_drop:j], ends[n_drop:], counts[n_drop:])
                self.bins_run += j - i - n_drop
                self.w_run += j - i - n_drop
                self.w_synops += int(res.synops.sum())
                self.synops_total += int(res.synops.sum())
                self._history(res.spikes, res.synops, counts[n_drop:], res.layer_synops)
                self.input_synops += int(res.layer_synops[:, 0].sum())
                self.input_frame = frames[j - 1]
                if self.hop_bins is None:  # streaming windows overlap: they need no smoothing
                    a = 1 - (1 - self.smoothing) ** (j - i - n_drop)
                    probs = self.backend.decision.probabilities(self.backend.logits())
                    self.smoothed = (1 - a) * self.smoothed + a * probs
            self.w_bins += j - i
            self.t_us = int(ends[-1])
            if self.w_bins == segment:
                win = self._close_window(partial=False)
                out += [win] if win else []
                if win is not None and self.hop_bins is not None:
                    self.smoothed = self.last_probs
                self.w_start = None
            i = j
        return out

    def _history(self, spikes, synops, events, layer_synops) -> None:
        for s, o, e, ls in zip(spikes, synops, events, layer_synops, strict=True):
            self.activity.append(np.asarray(s, np.int64))
            self.layer_synops_hist.append(np.asarray(ls, np.int64))
            self.synops_hist.append(int(o))
            self.events_hist.append(int(e))

    def finish(self) -> list[WindowResult]:
        """End of stream: the open bin is run and the window under way is reported (partial if short)."""
        last = flush(self.carry, self.cfg)
        if len(last):
            display = flush(self.display_carry, self.display_cfg)
            t0 = self.carry.t_open
            self.carry = initial_carry(self.cfg, t0 + self.cfg.bin_us)
            self.display_carry = initial_carry(self.display_cfg, t0 + self.cfg.bin_us)
            out = self._run_bins(last, display, t0, None)
        else:
            out = []
        if self.w_start is not None and self.w_bins:
            win = self._close_window(partial=self.w_bins < (self.hop_bins or self.backend.n_bins))
            out += [win] if win else []
            self.w_start = None
        elif self.hop_bins is not None and self.hops and len(self.hops) < self.hops.maxlen and not out:
            # a stream shorter than one window that ended on a hop boundary: its prediction, marked partial
            win = self._window_of_hops(partial=True)
            out += [win] if win else []
        return out

    # -- publishing ---------------------------------------------------------------------------------------
    def snapshot(self, source_stats: dict | None = None, finished: bool = False, error: str | None = None) -> Snapshot:
        h, w = self.sensor_size.height, self.sensor_size.width
        if self.display_frames:
            acc = np.sum(np.stack(self.display_frames), axis=0, dtype=np.int64)
            frame = (acc[1] - acc[0]).astype(np.int32)
        else:
            frame = np.zeros((h, w), np.int32)
        L = len(self.backend.layer_sizes)
        activity = np.stack(self.activity) if self.activity else np.zeros((0, L), np.int64)
        syn = np.asarray(self.synops_hist, np.int64)
        layer_syn = np.stack(self.layer_synops_hist) if self.layer_synops_hist else np.zeros((0, L + 1), np.int64)
        evh = np.asarray(self.events_hist, np.int64)
        bins_per_s = max(1, 1_000_000 // self.cfg.bin_us)
        recent = slice(-bins_per_s, None)
        span_s = max(len(syn[recent]), 1) * self.cfg.bin_us * 1e-6
        n_cls = len(self.backend.classes)
        if self.hop_bins is not None:
            conf = self.last_probs
        else:
            conf = self.backend.decision.probabilities(self.backend.logits()) if self.w_run else np.full(n_cls,
                                                                                                     1.0 / n_cls)
        verdict = self.backend.decision.judge(self.smoothed)
        return Snapshot(
            t_us=self.t_us, frame=frozen(frame), classes=tuple(self.backend.classes), confidence=frozen(conf),
            smoothed=frozen(self.smoothed), smoothed_top1=int(np.argmax(self.smoothed)), verdict=verdict,
            layer_sizes=tuple(self.backend.layer_sizes), activity=frozen(activity), synops_history=frozen(syn),
            events_history=frozen(evh), bin_us=self.cfg.bin_us, synops_total=int(self.synops_total),
            synops_per_s=float(syn[recent].sum() / span_s), energy_uj=self.synops_total * self.pj * 1e-6,
            events_total=int(self.events_total), event_rate=float(evh[recent].sum() / span_s),
            arrival_wall=self.arrival_wall,
            bins_run=self.bins_run, dropped_bins=self.dropped, late_events=self.late, events_in=self.events_in,
            events_filtered=self.events_filtered, filters=self.filter_label, backend=self.backend.label,
            source=self.source_name, source_stats=dict(source_stats or {}), last_window=self.last_window,
            windows=self.n_windows, finished=finished, error=error, recent_events=tuple(self.recent),
            layer_synops_per_s=frozen(layer_syn[recent].sum(0) / span_s), pj_per_synop=self.pj,
            input_synops=self.input_synops, input_synops_saved=self.input_synops_saved,
            input_frame=None if self.input_frame is None else frozen(self.input_frame),
            spike_maps=tuple(frozen(m) for m in self.backend.spike_maps()) if self.bins_run else ())
