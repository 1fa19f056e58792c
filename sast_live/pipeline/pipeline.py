"""The live pipeline as one synchronous object: events in → filters → bins → backend → predictions and a snapshot.

    pipe = Pipeline(load_backend(None), source.sensor_size, PipelineOptions())   # the live app: every 250 ms
    for chunk in source:
        for window in pipe.process(chunk, watermark=source.clock_us()):
            print(window.as_json())
    pipe.finish()

Filters run first, with their state carried across chunks (:class:`InputFilters`). Bins are the model's own
(:meth:`~models.config.SNNConfig.bin_config`: its ``bin_us``, pooled to its input size) with integer edges from
the first event; every chunk is binned once, and its events are counted per bin alongside. How bins become
predictions — back-to-back windows as in training, or a prediction every hop over a network that runs on — is
:mod:`sast_live.pipeline.windows`; the options (:class:`~sast_live.pipeline.options.PipelineOptions`) say which.
What a viewer sees is :mod:`sast_live.pipeline.telemetry`.

With ``realtime=True`` a bin that ends more than ``max_lag_us`` before the live edge (where the source is *now*, not
where it was when the chunk was queued) is dropped whole (never half) and counted: a slow backend loses bins,
never the source's events or its order, and never falls further behind than ``max_lag_us``.
"""

from __future__ import annotations

from dataclasses import replace
from typing import NamedTuple

import numpy as np

from sast_live.errors import SastLiveError
from sast_live.events import SensorSize
from sast_live.pipeline.options import PipelineOptions
from sast_live.pipeline.snapshot import Snapshot, WindowResult
from sast_live.pipeline.telemetry import Telemetry
from sast_live.pipeline.windows import Windows
from sast_live.transforms import filters
from sast_live.transforms.binning import bin_events, flush, initial_carry
from sast_live.transforms.config import DenoiseConfig, EventImageConfig, RefractoryConfig
from sast_live.transforms.fit import fit_events
from sast_live.transforms.mask import PixelMask, apply_mask, hot_pixels, pixel_counts


class BinRow(NamedTuple):
    """One bin for a per-bin export: its end (µs of stream time), events in it, whether it was dropped, the SynOps
    the input and each layer drove (L + 1), the readout after it (accumulators or logits), and what the app said
    then (the latest window's decision — a class, no_gesture or unfamiliar_scene; "" before the first window — and
    that window's calibrated confidence per class, () before it)."""

    t_end_us: int
    events: int
    dropped: bool
    layer_synops: tuple
    scores: tuple
    said: str
    confidences: tuple = ()


def warm_up(backend, sensor_size: SensorSize) -> None:
    """Compile (or load from numba's cache) every kernel a pipeline of ``backend`` on this sensor runs — binning,
    the filters (they can be switched on any time), the network — so the first live bins are not late. Touches
    no state of ``backend``: a session calls it before it opens a port, while another stream may still run."""
    from sast_live.events import make_events

    cfg = backend.bin_cfg
    two = make_events([0, cfg.bin_us], [0, 0], [0, 0], [1, 1])
    # numba compiles per array layout: a chunk of one event has contiguous field views, longer ones strided
    for events in (two, two[:1]):
        bin_events(events, initial_carry(cfg), cfg, int(events["t"][-1]) + 1)
        filters.denoise(events, None, DenoiseConfig(sensor_size))
        filters.refractory(events, None, RefractoryConfig(sensor_size))
    backend.warm_up()


class InputFilters:
    """The filters in front of the network, each with its state carried across chunks: the model's own input
    filter (``refractory_us`` of its config: always on, as in its training), then the user's noise filters (a
    refractory period per pixel, then the background-activity filter)."""

    def __init__(self, sensor_size: SensorSize, model_refractory_us: int, denoise_us: int | None,
                 refractory_us: int | None):
        self.model = RefractoryConfig(sensor_size, model_refractory_us) if model_refractory_us else None
        self.refractory = None if refractory_us is None else RefractoryConfig(sensor_size, refractory_us)
        self.denoise = None if denoise_us is None else DenoiseConfig(sensor_size, denoise_us)
        self.states = {"model": None, "refractory": None, "denoise": None}

    @property
    def label(self) -> str:
        on = []
        if self.model is not None:
            on.append(f"model's refractory {self.model.refractory_us} µs")
        if self.refractory is not None:
            on.append(f"refractory {self.refractory.refractory_us} µs")
        if self.denoise is not None:
            on.append(f"denoise {self.denoise.filter_us} µs")
        return " + ".join(on)

    def __call__(self, events: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(kept, before the user's filters)``: the network's input, and what reached the user's filters."""
        st = self.states
        if len(events) and self.model is not None:  # the network's input, as it was trained
            events, st["model"] = filters.refractory(events, st["model"], self.model)
        before = events
        if len(events) and self.refractory is not None:  # rate-limits hot pixels before the neighbourhood test
            events, st["refractory"] = filters.refractory(events, st["refractory"], self.refractory)
        if len(events) and self.denoise is not None:
            events, st["denoise"] = filters.denoise(events, st["denoise"], self.denoise)
        return events, before


class Pipeline:
    """Owns the binning carry, the filters, the backend and its :class:`~sast_live.pipeline.windows.Windows`, and
    the :class:`~sast_live.pipeline.telemetry.Telemetry`; every method runs on one (worker) thread."""

    def __init__(self, backend, sensor_size: SensorSize, options: PipelineOptions, source_name: str = "", *,
                 realtime: bool = False, max_lag_us: int = 250_000, history_bins: int = 120,
                 smoothing: float = 0.15):
        self.source_size = SensorSize(*sensor_size)
        model_size = SensorSize(*backend.bin_cfg.sensor_size)
        self.fit = options.fit if options.fit and self.source_size != model_size else None
        self.sensor_size = model_size if self.fit else self.source_size  # what the filters and the network see
        self.options, self.source_name = options, source_name
        self.realtime, self.max_lag_us = realtime, int(max_lag_us)
        self.cfg = backend.bin_cfg  # the binning stays with the stream: a new model must bin the same way
        self.check_backend(backend)
        self.telemetry = Telemetry(len(backend.classes), self.cfg.bin_us, history_bins, smoothing,
                                   options.pj_per_synop)
        self._pending: tuple | None = None  # (backend, options) to switch to at the next bin
        self._install(backend, options)  # new Windows: fresh network state for the stream
        self.carry = initial_carry(self.cfg)
        self.open_count = 0  # events in the open bin so far
        self.input_frame: np.ndarray | None = None  # the network's input in the last bin run
        #: called with a :class:`BinRow` for every bin (run or dropped) while set; the bins then run one at a time
        self.bin_sink = None
        self.t_us = 0
        self.mask: PixelMask | None = None  # the region of interest and hot-pixel mask, before every filter
        self._keep: np.ndarray | None = None
        self._census: list | None = None  # a hot-pixel count under way: [counts (H, W), until_us or None, done]
        if options.roi is not None:
            self.set_mask(PixelMask(self.sensor_size, options.roi))
        warm_up(self.backend, self.sensor_size)

    # -- what the runner and the CLI read -------------------------------------------------------------------------
    @property
    def n_windows(self) -> int:
        return self.telemetry.n_windows

    @property
    def dropped(self) -> int:
        return self.telemetry.dropped

    @property
    def bins_run(self) -> int:
        return self.telemetry.bins_run

    @property
    def events_filtered(self) -> int:
        return self.telemetry.events_filtered

    @property
    def filter_label(self) -> str:
        return self.filters.label

    # -- filters, display, backend ----------------------------------------------------------------------------------
    def set_filters(self, denoise_us: int | None, refractory_us: int | None) -> None:
        """Switch the noise filters (None = off) from the next chunk on; each starts with a fresh state (the
        model's own input filter carries on)."""
        self.options = replace(self.options, denoise_us=denoise_us, refractory_us=refractory_us)
        model = self.filters
        self.filters = InputFilters(self.sensor_size, self.backend.input_refractory_us, denoise_us, refractory_us)
        self.filters.states["model"] = model.states["model"]

    def set_mask(self, mask: PixelMask | None) -> None:
        """Keep only the pixels ``mask`` keeps from the next chunk on (None or an empty mask: every pixel)."""
        if mask is not None and tuple(mask.sensor_size) != tuple(self.sensor_size):
            raise SastLiveError(f"the mask is for a {mask.sensor_size.width}×{mask.sensor_size.height} sensor, the "
                                f"stream is {self.sensor_size.width}×{self.sensor_size.height}")
        self.mask = None if mask is None or mask.empty else mask
        self._keep = None if self.mask is None else self.mask.keep()

    def count_hot_pixels(self, seconds: float, done) -> None:
        """Count every pixel's events (before the mask and the filters) over the next ``seconds`` of the stream,
        then call ``done(hot pixels)`` (:func:`sast_live.transforms.mask.hot_pixels`) on this thread."""
        if not seconds > 0:
            raise SastLiveError(f"hot pixels are counted over a positive time, got {seconds} s")
        h, w = self.sensor_size.height, self.sensor_size.width
        self._census = [np.zeros((h, w), np.int64), None, float(seconds), done]

    def _count_census(self, events: np.ndarray) -> None:
        census = self._census
        if len(events) == 0:
            return
        if census[1] is None:
            census[1] = int(events["t"][0] + census[2] * 1e6)
        census[0] += pixel_counts(events[events["t"] < census[1]], self.sensor_size)
        if int(events["t"][-1]) >= census[1]:
            self._census = None
            census[3](hot_pixels(census[0]))

    def set_event_image(self, image: EventImageConfig) -> None:
        """How the event view's image is made from the next snapshot on (window and decay)."""
        self.telemetry.image = image

    def check_backend(self, backend) -> None:
        """Raise if ``backend`` cannot run on this stream (sensor geometry, binning); changes nothing."""
        if tuple(backend.bin_cfg.sensor_size) != tuple(self.sensor_size):
            s, m = self.sensor_size, backend.bin_cfg.sensor_size
            raise SastLiveError(f"the source is {s.width}×{s.height} pixels but the model expects "
                                f"{m.width}×{m.height}; pick a matching model or source, or --fit pool|crop")
        if backend.bin_cfg.bin_us != self.cfg.bin_us or backend.bin_cfg.out_size != self.cfg.out_size:
            raise SastLiveError("the new model bins events differently (bin width or input size); restart instead")

    def _install(self, backend, options: PipelineOptions) -> None:
        self.backend, self.options = backend, options
        old = getattr(self, "filters", None)
        self.filters = InputFilters(self.sensor_size, backend.input_refractory_us, options.denoise_us,
                                    options.refractory_us)
        if old is not None:  # the user's filters run on unchanged; the new model's own filter starts afresh
            for name in ("refractory", "denoise"):
                if getattr(old, name) == getattr(self.filters, name):
                    self.filters.states[name] = old.states[name]
        self.windows = self._new_windows()
        self.telemetry.min_latency_us = self.windows.length * self.cfg.bin_us  # a hop (or a whole window)
        if len(self.telemetry.smoothed) != len(backend.classes):  # a model with other classes
            self.telemetry.reset_classes(len(backend.classes))

    def _new_windows(self) -> Windows:
        """Windows of the current backend and options (the backend's network state reset)."""
        b, o = self.backend, self.options
        return Windows(b, self.cfg.bin_us, o.hop_bins(b), o.window_bins(b), o.taper_for(b))

    def restart(self) -> None:
        """The stream jumped (a seek): the window under way is dropped unreported, the network starts from fresh
        state, and what the viewer sees that depends on history (confidences, the last window, the decision latency,
        the per-bin histories, the event view's recent events) starts over. The open bin's events from before the
        jump are dropped: bins start again at the first event after it. Counters since the start run on."""
        self.carry, self.open_count = initial_carry(self.cfg), 0
        self.windows = self._new_windows()
        self.telemetry.restart(len(self.backend.classes))

    def set_backend(self, backend, options: PipelineOptions | None = None) -> None:
        """Switch network or precision at the next bin; the window under way ends there (marked partial). With
        ``options``, its streaming window and taper (and filters) from then on; else the current options, read
        for the new model (its own stored window and taper, unless the user chose one)."""
        self.check_backend(backend)
        self._pending = (backend, options or self.options)

    # -- processing ---------------------------------------------------------------------------------------------
    def process(self, events: np.ndarray, watermark: int | None = None, arrival: float | None = None,
                live_edge: int | None = None) -> list[WindowResult]:
        """Take one chunk (EVENT_DTYPE, t non-decreasing); returns the windows it completed.

        ``watermark``: sensor time up to which the source had delivered everything with this chunk (closes bins
        in silence). ``arrival``: ``time.monotonic()`` when the chunk arrived (for latency). ``live_edge``: the
        source's position now (default: the watermark); realtime bins older than it by ``max_lag_us`` drop.
        """
        tel = self.telemetry
        if arrival is not None:
            tel.arrival_wall = arrival
        if self.fit:  # a larger sensor onto the model's (pooled or cropped)
            events = fit_events(events, self.source_size, self.sensor_size, self.fit)
        if self.carry.t_open is not None and len(events) and events["t"][0] < self.carry.t_open:
            keep = events["t"] >= self.carry.t_open  # late events belong to bins already run: count, skip
            tel.late += int(len(events) - keep.sum())
            events = events[keep]
        if self._census is not None:
            self._count_census(events)
        if self._keep is not None:
            n = len(events)
            events = apply_mask(events, self._keep)
            tel.events_masked += n - len(events)
        events = self._filter(events)
        if len(events):
            tel.keep_recent(events)
        if self.carry.t_open is None and len(events) == 0:
            return []
        t_first_bin = self.carry.t_open if self.carry.t_open is not None else int(events["t"][0])
        frames, self.carry = bin_events(events, self.carry, self.cfg, watermark)
        counts = self._count(events, t_first_bin, len(frames))
        return self._run_bins(frames, counts, t_first_bin, watermark if live_edge is None else live_edge)

    def _filter(self, events: np.ndarray) -> np.ndarray:
        tel, n = self.telemetry, len(events)
        tel.events_in += n
        events, before = self.filters(events)
        tel.events_filtered += n - len(events)
        if len(events) != len(before):
            # the input layer's SynOps the user's filters saved: the events they removed would have driven them
            # (exact while no pooled pixel saturates its uint8 count in a bin)
            tel.input_synops_saved += self._input_synops(before) - self._input_synops(events)
        return events

    def _input_synops(self, events: np.ndarray) -> int:
        """The SynOps ``events`` drive in the first layer (each event: its pooled position's fan-out)."""
        fan = self.backend.input_fanout
        fy, fx = self.sensor_size.height // fan.shape[0], self.sensor_size.width // fan.shape[1]
        return int(fan[events["y"] // fy, events["x"] // fx].sum())

    def _count(self, events: np.ndarray, t_first_bin: int, n_done: int) -> np.ndarray:
        """Events per completed bin (``n_done`` of them from ``t_first_bin``); the open bin's count is carried.
        Exact where the network's pooled uint8 counts saturate."""
        counts = np.bincount((events["t"] - t_first_bin) // self.cfg.bin_us, minlength=n_done + 1)
        counts[0] += self.open_count
        self.open_count = int(counts[n_done])
        return counts[:n_done]

    def _run_frames(self, frames: np.ndarray, ends: np.ndarray, counts: np.ndarray):
        """The backend over ``frames``; with a :attr:`bin_sink`, one bin at a time and a row for each."""
        if self.bin_sink is None:
            return self.backend.run(frames)
        outs = []
        last = self.telemetry.last_window
        for f, end, n in zip(frames, ends, counts, strict=True):
            out = self.backend.run(f[None])
            outs.append(out)
            self.bin_sink(BinRow(int(end), int(n), False, tuple(int(v) for v in out.layer_synops[0]),
                                 tuple(np.asarray(self.backend.scores()).tolist()),
                                 last.class_name if last is not None else "",
                                 tuple(self.telemetry.last_probs.tolist()) if last is not None else ()))
        return type(outs[0])(*(np.concatenate(parts) for parts in zip(*outs, strict=True)))

    def _switch(self) -> list[WindowResult]:
        """Install the pending backend: the window under way ends, partial; the new one starts fresh."""
        out = self._close(partial=True)
        backend, options = self._pending
        self._pending = None
        self._install(backend, options)  # new Windows: no segment under way, fresh network state
        return out

    def _close(self, partial: bool) -> list[WindowResult]:
        done = self.windows.close(partial)
        if done is None:
            return []
        self.telemetry.window(*done, streaming=self.windows.hop_bins is not None)
        return [done[0]]

    def _drop(self, ends: np.ndarray, counts: np.ndarray) -> None:
        """Realtime and behind: these bins are not run (counted, a zero row each in the histories)."""
        n, L, tel = len(ends), len(self.backend.layer_sizes), self.telemetry
        tel.dropped += n
        tel.bins(np.zeros((n, L), np.int64), np.zeros(n), counts, np.zeros((n, L + 1), np.int64), dropped=True)
        if self.bin_sink is not None:
            for end, count in zip(ends, counts, strict=True):
                self.bin_sink(BinRow(int(end), int(count), True, (0,) * (L + 1), (), ""))

    def _run(self, frames: np.ndarray, ends: np.ndarray, counts: np.ndarray) -> int:
        """Run ``frames`` through the backend; returns their SynOps."""
        tel = self.telemetry
        res = self._run_frames(frames, ends, counts)
        synops = int(res.synops.sum())
        tel.bins_run += len(frames)
        tel.synops_total += synops
        tel.bins(res.spikes, res.synops, counts, res.layer_synops)
        tel.input_synops += int(res.layer_synops[:, 0].sum())
        self.input_frame = frames[-1]
        if self.windows.hop_bins is None:  # streaming windows overlap: they need no smoothing
            tel.smooth(self.backend.decision.probabilities(self.backend.logits()), len(frames))
        return synops

    def _run_bins(self, frames, counts, t0: int, live_edge: int | None) -> list[WindowResult]:
        out: list[WindowResult] = []
        bin_us, tel = self.cfg.bin_us, self.telemetry
        i = 0
        while i < len(frames):
            if self._pending is not None:
                out += self._switch()
            win = self.windows
            if win.segment is None:
                win.open(t0 + i * bin_us)
            j = min(len(frames), i + win.length - win.segment.bins)
            ends = t0 + (np.arange(i, j) + 1) * bin_us
            n_drop = 0
            if self.realtime and live_edge is not None:
                late = ends < live_edge - self.max_lag_us
                n_drop = int(np.argmin(late)) if not late.all() else len(late)  # drop the oldest ones only
            tel.events_total += int(counts[i:j].sum())
            if n_drop:
                self._drop(ends[:n_drop], counts[i:i + n_drop])
            synops = self._run(frames[i + n_drop:j], ends[n_drop:], counts[i + n_drop:j]) if j - i > n_drop else 0
            win.add(j - i, j - i - n_drop, n_drop, int(counts[i:j].sum()), synops)
            self.t_us = int(ends[-1])
            if win.full:
                out += self._close(partial=False)
            i = j
        return out

    def finish(self) -> list[WindowResult]:
        """End of stream: the open bin is run and the window under way is reported (partial if short)."""
        last = flush(self.carry, self.cfg)
        out = []
        if len(last):
            t0 = self.carry.t_open
            counts = np.array([self.open_count])
            self.carry, self.open_count = initial_carry(self.cfg, t0 + self.cfg.bin_us), 0
            out = self._run_bins(last, counts, t0, None)
        done = self.windows.end_of_stream(got_any=bool(out))
        if done is not None:
            self.telemetry.window(*done, streaming=self.windows.hop_bins is not None)
            out.append(done[0])
        return out

    # -- publishing ---------------------------------------------------------------------------------------------
    def snapshot(self, source_stats: dict | None = None, finished: bool = False, error: str | None = None) -> Snapshot:
        return self.telemetry.snapshot(self.backend, self.sensor_size, self.t_us,
                                       streaming=self.windows.hop_bins is not None,
                                       window_run=self.windows.run, input_frame=self.input_frame,
                                       filters="; ".join(x for x in (self.filters.label, self.mask and
                                                                     self.mask.describe()) if x),
                                       source=self.source_name,
                                       source_stats=source_stats, finished=finished, error=error)


def stream_windows(backend, events: np.ndarray, sensor_size, options: PipelineOptions) -> list[WindowResult]:
    """The full (not partial) windows of a pipeline with ``options`` over a whole recording held in memory, from
    fresh network state: how an evaluation streams a recording the way the app does."""
    pipe = Pipeline(backend, SensorSize(*sensor_size), options)
    return [w for w in pipe.process(events) + pipe.finish() if not w.partial]
