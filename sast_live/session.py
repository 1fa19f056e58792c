"""The one place a live session is assembled — source → pipeline → runner → snapshots — for every mode: the GUI,
headless ``replay``/``live`` (:mod:`sast_live.headless`) and the GUI's no-display fallback. ``record`` opens its
source through the same :class:`SourceOptions`, so every source option reaches every mode.

    session = Session(SourceOptions(speed=2.0, baud=3_000_000), PipelineOptions(precision="int4"))
    session.open("edvs:/dev/ttyUSB0")     # starts the reader and worker threads
    snap = session.latest()               # any thread: the newest immutable Snapshot
    session.stop()

Every user action (open a file or port, change speed, precision, model or filters, record) is a method here, so
it is tested without a window; the window only calls these and renders :meth:`Session.latest`. The pipeline is
single-threaded by contract: whatever changes it (a new model, filters) is handed to the runner's worker thread
(:meth:`~sast_live.pipeline.Runner.call`), never called from the thread that asked.
"""

from __future__ import annotations

import math
import os
import threading
from collections import deque
from dataclasses import dataclass, replace
from typing import NamedTuple

from firmware_sim.precisions import Precision
from sast_live.errors import SastLiveError
from sast_live.pipeline import Pipeline, Runner, load_backend
from sast_live.pipeline.options import PipelineOptions
from sast_live.pipeline.pipeline import warm_up
from sast_live.recorder import Recorder
from sast_live.sources import open_source
from sast_live.sources.base import Source
from sast_live.transforms.config import EventImageConfig
from sast_live.transforms.mask import PixelMask


class LoggedWindow(NamedTuple):
    """A window of a file source as the timeline and the score read it: its span in file time (µs), what the app
    decided (a class, −1 no gesture, −2 unfamiliar scene), its top-class confidence, and whether it was cut short.
    (The attribute names are :class:`~sast_live.pipeline.snapshot.WindowResult`'s: :mod:`sast_live.scoring` reads
    both.)"""

    t_start_us: int
    t_end_us: int
    class_index: int
    confidence: float
    partial: bool


@dataclass(frozen=True)
class SourceOptions:
    """How a source string (DESIGN.md §9) is opened.

    Attributes:
        speed: replay pace × the recording's clock (files, synthetic); None = as fast as possible.
        loop: start a file over at its end.
        protocol: serial camera protocol for ``serial:PORT`` (``edvs`` or ``framed``).
        baud: serial baud rate (None: the eDVS default, 12 Mbaud).
        sensor_size: (width, height) for sources that do not say it.
        reconnect_s: how long a lost serial port is retried before the stream ends.
        seed: seed of the synthetic camera.
    """

    speed: float | None = 1.0
    loop: bool = False
    protocol: str = "edvs"
    baud: int | None = None
    sensor_size: tuple[int, int] | None = None
    reconnect_s: float = 10.0
    seed: int = 0

    def __post_init__(self):
        if self.speed is not None and not (self.speed > 0 and math.isfinite(self.speed)):
            raise SastLiveError(f"--speed must be a positive factor (0 = as fast as possible), got {self.speed}")
        if self.baud is not None and self.baud <= 0:
            raise SastLiveError(f"--baud must be a positive rate, got {self.baud}")
        if not self.reconnect_s >= 0:
            raise SastLiveError(f"--reconnect-s must be ≥ 0, got {self.reconnect_s}")

    def open(self, spec: str | os.PathLike) -> Source:
        """The source ``spec`` names, configured by these options (not yet opened)."""
        return open_source(spec, speed=self.speed, loop=self.loop, protocol=self.protocol,
                           sensor_size=self.sensor_size, reconnect_s=self.reconnect_s, baud=self.baud, seed=self.seed)


class Session:
    """One source, one pipeline, one runner, an optional recorder; options kept for the next :meth:`open`."""

    def __init__(self, sources: SourceOptions | None = None, options: PipelineOptions | None = None,
                 on_window=None):
        self.sources = sources or SourceOptions()
        self.options = options or PipelineOptions()
        self.on_window = on_window  # called on the worker thread with each WindowResult
        self.backend = load_backend(self.options.model, self.options.precision)
        self.source = self.pipeline = self.runner = self.recorder = self.take = None
        self.spec: str | None = None
        #: the :class:`LoggedWindow` of each window of a file source (file time), for the timeline and its score
        self.window_log: deque = deque(maxlen=20_000)
        self.windows_logged = 0  # windows appended to window_log since the source opened
        self.seek_count = 0  # seeks so far, and the file time the last one re-fed the file from (the timeline's)
        self.last_seek_us: int | None = None
        self.message = ""  # the last thing worth telling the user (errors, records written)
        self.event_image = EventImageConfig()  # how the event view's image is made (the window's display bar)
        self._loading = threading.Lock()

    # -- sources ------------------------------------------------------------------------------------------
    def open(self, spec: str | os.PathLike) -> None:
        """Stop what runs and start ``spec`` (file path, serial:PORT, edvs:PORT, framed:PORT, dv:, synthetic:…)."""
        source = self.sources.open(spec)
        warm_up(self.backend, source.sensor_size)  # compile everything before a camera starts to send
        source.open()  # a port that cannot be opened fails here, before the running stream is stopped
        self.stop()
        kept = self.mask
        try:
            pipeline = Pipeline(self.backend, source.sensor_size, self.options, source.describe(),
                                realtime=source.realtime)
            pipeline.set_event_image(self.event_image)
            if kept is not None and tuple(kept.sensor_size) == tuple(pipeline.sensor_size):
                pipeline.set_mask(kept)  # (another sensor's pixels are other pixels: --roi, or none, there)
        except SastLiveError:
            source.close()
            raise
        self.source, self.spec, self.pipeline = source, os.fspath(spec), pipeline
        self.window_log, self.windows_logged = deque(maxlen=20_000), 0
        self.runner = Runner(source, pipeline, on_window=self._window).start()

    def _window(self, win) -> None:  # on the worker thread
        source = self.source
        if hasattr(source, "file_time"):
            self.window_log.append(LoggedWindow(source.file_time(win.t_start_us), source.file_time(win.t_end_us),
                                                win.class_index, win.confidence, win.partial))
            self.windows_logged += 1
        if self.on_window is not None:
            self.on_window(win)

    def stop(self, flush: bool = False) -> None:
        """Stop the threads (and a recording); ``flush`` reports the window under way first."""
        self.stop_recording()
        if self.runner is not None:
            self.runner.stop(flush=flush)
        self.runner = self.source = None

    def latest(self):
        return None if self.runner is None else self.runner.latest()

    # -- transport ----------------------------------------------------------------------------------------
    @property
    def can_pace(self) -> bool:
        return hasattr(self.source, "set_speed")

    def set_speed(self, speed: float | None) -> None:
        self.sources = replace(self.sources, speed=speed)
        if self.can_pace:
            self.source.set_speed(speed)

    def set_paused(self, paused: bool) -> None:
        if self.can_pace:
            self.source.set_paused(paused)

    @property
    def paused(self) -> bool:
        return bool(self.can_pace and self.source.pacer.paused)

    @property
    def can_seek(self) -> bool:
        return hasattr(self.source, "seek")

    @property
    def mask(self) -> PixelMask | None:
        """The region of interest and hot-pixel mask in force: the pipeline's (kept across opens of a source of the
        same size)."""
        return None if self.pipeline is None else self.pipeline.mask

    @property
    def history_us(self) -> int:
        """How much stream the answer shown depends on: the streaming window (or the model's window)."""
        bins = self.options.window_bins(self.backend) or self.backend.n_bins
        return int(bins * self.backend.bin_cfg.bin_us)

    def seek(self, t_us: int) -> None:
        """Jump a file source to file time ``t_us``. The pipeline starts over there from fresh network state (what
        was said before the jump says nothing about the new place). Paused, the window that leads up to ``t_us``
        is run again and one bin past it shown, so the answer at ``t_us`` is the one a replay from earlier gives
        there; playing, the first answer comes one window after the jump."""
        if not self.can_seek:
            raise SastLiveError("only a recording can be scrubbed")
        t_us = max(0, int(t_us))
        lead = min(self.history_us, t_us) if self.paused else 0
        self.seek_count += 1
        self.last_seek_us = t_us - lead
        self.source.seek(t_us - lead)
        if self.paused:
            self.source.pacer.step(lead + self.backend.bin_cfg.bin_us)

    def step(self, bins: int) -> None:
        """Paused: move ``bins`` bins forward (or back, negative: the file is re-fed from a window before there)."""
        if not self.paused:
            return
        bin_us = self.backend.bin_cfg.bin_us
        if bins > 0:
            self.source.pacer.step(bins * bin_us)
        elif bins < 0 and self.can_seek and self.source.position_us is not None:
            self.seek(self.source.position_us + (bins - 1) * bin_us)

    def set_loop(self, loop: bool) -> None:
        self.sources = replace(self.sources, loop=loop)
        if hasattr(self.source, "loop"):
            self.source.loop = loop

    def set_protocol(self, protocol: str) -> None:
        """Used by the next :meth:`open` of a ``serial:`` port."""
        self.sources = replace(self.sources, protocol=protocol)

    # -- what runs on the stream ------------------------------------------------------------------------------
    def _on_worker(self, change, done=None, message: str = "") -> None:
        """Apply ``change(pipeline or None)`` on the worker thread (or here when nothing runs); then
        ``done(error or None)`` and :attr:`message` say how it went."""
        def then(err: str | None) -> None:
            self.message = err or message
            if done is not None:
                done(err)

        runner = self.runner
        if runner is None:
            try:
                change(None)
            except SastLiveError as exc:
                return then(str(exc))
            return then(None)
        runner.call(change, then)

    def set_model(self, model: str | None, precision: Precision | str | None, done=None) -> None:
        """Load on a helper thread (torch takes seconds), then switch at the next bin; ``done(error)`` after
        (called on the loader or the worker thread). ``precision`` as :class:`PipelineOptions` takes it."""

        def work():
            with self._loading:
                try:
                    options = replace(self.options, model=model, precision=precision)
                    backend = load_backend(options.model, options.precision)
                except SastLiveError as exc:
                    self.message = str(exc)
                    if done is not None:
                        done(str(exc))
                    return

                def install(pipeline):  # on the worker: geometry and binning must match the stream
                    if pipeline is not None:  # the new model's own streaming window, unless the user chose one
                        pipeline.set_backend(backend, replace(pipeline.options, model=model,
                                                              precision=options.precision))
                    self.backend = backend
                    self.options = options

                self._on_worker(install, done, f"running {backend.label}")

        threading.Thread(target=work, name="sast-model-load", daemon=True).start()

    def set_filters(self, denoise_us: int | None, refractory_us: int | None, done=None) -> None:
        """Switch the noise filters (None = off) from the next chunk on."""
        options = replace(self.options, denoise_us=denoise_us, refractory_us=refractory_us)

        def install(pipeline):
            if pipeline is not None:
                pipeline.set_filters(denoise_us, refractory_us)
            self.options = options

        self._on_worker(install, done, f"noise filters {'on' if options.filters_on else 'off'}")

    def set_mask(self, roi: tuple[int, int, int, int] | None, hot=(), done=None) -> None:
        """Keep only the events inside ``roi`` (``(x0, y0, x1, y1)`` sensor pixels, x1 and y1 exclusive; None: the
        whole sensor) and not at the ``hot`` pixels, from the next chunk on; kept for the next :meth:`open` of a
        source of the same size."""
        if self.pipeline is None:
            raise SastLiveError("open a source first: a region and a mask are in its pixels")
        mask = PixelMask(self.pipeline.sensor_size, roi, tuple(hot))

        def install(pipeline):
            (pipeline or self.pipeline).set_mask(mask)  # nothing runs: the stopped pipeline, kept for the next open
            self.options = replace(self.options, roi=None)  # what the user set now replaces --roi

        self._on_worker(install, done, f"input: {mask.describe() or 'every pixel'}")

    def detect_hot_pixels(self, seconds: float = 1.0, done=None) -> None:
        """Count the stream's events per pixel for ``seconds`` of it and mask the pixels that stand out
        (:func:`sast_live.transforms.mask.hot_pixels`) beside those masked already; then ``done(error or None)``
        (on the worker thread), :attr:`message` saying how many were found."""
        if self.pipeline is None:
            raise SastLiveError("open a source first: hot pixels are found in its stream")

        def found(hot):  # on the worker, once the stream has run the time
            pipeline = self.pipeline
            old = pipeline.mask or PixelMask(pipeline.sensor_size)
            mask = PixelMask(pipeline.sensor_size, old.roi, old.hot + tuple(hot))
            pipeline.set_mask(mask)
            self.message = (f"masked {len(hot)} hot pixel{'s' * (len(hot) != 1)} (fired ≥ 10× as often as 90 % of "
                            f"the pixels over {seconds:g} s); {len(mask.hot)} masked in all")
            if done is not None:
                done(None)

        def start(pipeline):
            if pipeline is None:
                raise SastLiveError("nothing runs: hot pixels are found in a running stream")
            pipeline.count_hot_pixels(seconds, found)

        self._on_worker(start, lambda err: err and done and done(err), f"counting events per pixel for {seconds:g} s")

    def set_event_image(self, window_ms: int, decay: str) -> None:
        """How the event view's image is made (the last ``window_ms``, faded by ``decay``), from the next
        snapshot on; kept for the next :meth:`open`."""
        image = EventImageConfig(window_ms * 1000, decay)

        def install(pipeline):
            if pipeline is not None:
                pipeline.set_event_image(image)
            self.event_image = image

        self._on_worker(install, message=f"event view: the last {window_ms} ms, decay {decay}")

    def set_bin_sink(self, sink, done=None) -> None:
        """Call ``sink(BinRow)`` for every bin from the next one on (None: stop); the bins then run one at a time."""
        def install(pipeline):
            if pipeline is not None:
                pipeline.bin_sink = sink

        self._on_worker(install, done, "per-bin export " + ("on" if sink is not None else "off"))

    # -- recording ----------------------------------------------------------------------------------------
    def _tap(self, chunk) -> None:  # on the reader thread: the recording and a take under way see every chunk
        rec, take = self.recorder, self.take
        if rec is not None:
            rec.write(chunk)
        if take is not None:
            take.write(chunk)

    def start_recording(self, path: str) -> None:
        if self.runner is None:
            raise SastLiveError("nothing is running to record")
        self.recorder = Recorder(path, self.source.sensor_size)
        self.runner.tap = self._tap

    def start_take(self, takes, name: str, seconds: float, done=None) -> None:
        """Record the next ``seconds`` of the running source as a take of ``name`` into ``takes``
        (:class:`sast_live.takes.TakeSet`); ``done(take, error)`` is called on the reader thread."""
        from sast_live.takes import TakeCollector

        if self.runner is None:
            raise SastLiveError("nothing is running to record a take from")
        if tuple(takes.sensor_size) != tuple(self.source.sensor_size):
            raise SastLiveError(f"{takes.root} holds takes of a {takes.sensor_size[0]}x{takes.sensor_size[1]} "
                                f"sensor; this source is {self.source.sensor_size[0]}x{self.source.sensor_size[1]}")

        def finished(take, error):
            if self.take is collector:  # not a take started since, while this one was being stored
                self.take = None
            if done is not None:
                done(take, error)

        collector = TakeCollector(takes, name, seconds, finished)
        self.take = collector
        self.runner.tap = self._tap

    def stop_take(self) -> None:
        """End the take under way now (hold-to-record let go); what it holds is stored (see
        :meth:`sast_live.takes.TakeCollector.stop`)."""
        take = self.take
        if take is not None:
            take.stop()

    def stop_recording(self) -> tuple[int, int] | None:
        rec, self.recorder = self.recorder, None
        if rec is None:
            return None
        n, size = rec.finish()
        self.message = f"recorded {n} events ({size} bytes) to {rec.path}"
        return n, size
