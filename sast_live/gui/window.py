"""The main window: controls (toolbars, menus, shortcuts), panels (views.py, energy.py, timeline.py, inspector.py,
teach.py), exports (export.py) and a timer that polls the session's snapshot."""

from __future__ import annotations

import time
from collections import deque

import numpy as np
from PyQt6 import QtCore, QtGui, QtWidgets

from firmware_sim.precisions import PRECISIONS
from sast_live.errors import SastLiveError
from sast_live.gui import export
from sast_live.gui.energy import EnergyPanel
from sast_live.gui.frames import DECAYS, SCHEMES
from sast_live.gui.inspector import InputView
from sast_live.gui.teach import TeachPanel
from sast_live.gui.theme import apply_theme
from sast_live.gui.timeline import Timeline
from sast_live.gui.views import EventView, PredictionPanel, RatePlot, SpikePanel, steady
from sast_live.session import DEFAULT_DENOISE_US, DEFAULT_REFRACTORY_US

SPEEDS = [("0.25×", 0.25), ("0.5×", 0.5), ("1×", 1.0), ("2×", 2.0), ("5×", 5.0), ("10×", 10.0), ("max", None)]
REFRESH_MS = 28  # 36 Hz: a 33-ms timer tops out at 30.3 Hz, where one late frame pulls the rate under the 30 fps target
SHORTCUTS = [("Space", "pause / play"), ("← / →", "one bin back / forward (paused, recordings)"),
             ("+ / −", "faster / slower replay"), ("R", "record the stream to a file"), ("L", "loop the recording"),
             ("F", "noise filter on / off"), ("1 – 4", "precision: float, hard, int8, int4"),
             ("T", "record a take (Teach panel)"), ("Ctrl+E", "export: dashboard PNG, per-bin CSV, video"),
             ("I", "network input and layer spikes"), ("F1 / ?", "this help")]


class MainWindow(QtWidgets.QMainWindow):
    def __init__(self, session, max_frames: int | None = None):
        super().__init__()
        self.session, self.max_frames = session, max_frames
        self.setWindowTitle("SAST-Live")
        self.frames_rendered = 0
        self.render_times: deque = deque(maxlen=300)
        self.latencies_ms: list[float] = []
        self.last_snapshot = None
        self.video: export.VideoWriter | None = None
        self.bin_csv: export.BinCsv | None = None
        apply_theme("dark")
        self._build_panels()
        self._build_controls()
        self._build_menus()
        self.timer = QtCore.QTimer(self)
        self.timer.setTimerType(QtCore.Qt.TimerType.PreciseTimer)  # a coarse timer may fire up to 5 % late
        self.timer.timeout.connect(self.refresh)
        self.timer.start(REFRESH_MS)
        self.resize(1280, 820)

    # -- layout -------------------------------------------------------------------------------------------
    def _build_panels(self) -> None:
        central = QtWidgets.QWidget()
        grid = QtWidgets.QGridLayout(central)
        self.events = EventView()
        self.prediction = PredictionPanel(self.session.backend.classes)
        self.spikes = SpikePanel()
        self.synops_plot = RatePlot("SynOps per second", "SynOps/s", "#e8744c")
        self.rate_plot = RatePlot("events per second", "events/s", "#4ce88a")
        self.timeline = Timeline(self.session)
        self.energy = EnergyPanel()
        self.grid = grid
        grid.addWidget(self.events, 0, 0, 2, 1)
        grid.addWidget(self.timeline, 2, 0)
        self._timeline_shown = True
        grid.addWidget(self.prediction, 0, 1)
        grid.addWidget(self.spikes, 1, 1)
        grid.addWidget(self.energy, 2, 1)
        grid.addWidget(self.synops_plot, 3, 0)
        grid.addWidget(self.rate_plot, 3, 1)
        grid.setColumnStretch(0, 3)
        grid.setColumnStretch(1, 2)
        grid.setRowStretch(0, 3)
        grid.setRowStretch(1, 2)
        self.setCentralWidget(central)
        self.inputs = InputView(self)
        self.addDockWidget(QtCore.Qt.DockWidgetArea.RightDockWidgetArea, self.inputs)
        self.inputs.hide()
        self.help = QtWidgets.QLabel(self)
        self.help.setText("<h3>Keyboard</h3><table>" + "".join(
            f"<tr><td><b>{k}</b>&nbsp;&nbsp;</td><td>{v}</td></tr>" for k, v in SHORTCUTS) + "</table>"
            "<p>F1, ? or Esc closes this.</p>")
        self.help.setStyleSheet("background: rgba(10, 10, 14, 230); color: #eee; padding: 18px; "
                                "border: 1px solid #888; font-size: 11pt;")
        self.help.hide()
        self.status = steady(QtWidgets.QLabel())
        self.statusBar().addWidget(self.status, 1)
        self.counter = QtWidgets.QLabel()
        self.counter.setMinimumWidth(460)  # room for the counters as they grow: no relayout as digits are added
        self.counter.setStyleSheet("font-family: monospace;")
        self.statusBar().addPermanentWidget(self.counter)

    def _build_controls(self) -> None:
        bar = self.addToolBar("controls")
        bar.setMovable(False)
        bar.addAction("Open file…", self.choose_file)
        self.ports = QtWidgets.QComboBox()
        self.ports.setMinimumWidth(160)
        self.ports.setToolTip("serial event cameras (refresh with ↻)")
        bar.addWidget(self.ports)
        self.protocol = QtWidgets.QComboBox()
        self.protocol.addItems(["edvs", "framed"])
        bar.addWidget(self.protocol)
        bar.addAction("↻", self.refresh_ports)
        bar.addAction("Connect", self.connect_port)
        bar.addAction("USB camera", lambda: self.open_source("dv:"))
        bar.addAction("Synthetic", lambda: self.open_source("synthetic:gestures"))
        bar.addSeparator()
        self.play = QtGui.QAction("Pause", self, checkable=True)
        self.play.toggled.connect(self.toggle_pause)
        bar.addAction(self.play)
        self.speed = QtWidgets.QComboBox()
        for label, _ in SPEEDS:
            self.speed.addItem(label)
        speeds = [v for _, v in SPEEDS]
        speed = self.session.sources.speed
        self.speed.setCurrentIndex(speeds.index(speed) if speed in speeds else 2)
        self.speed.currentIndexChanged.connect(lambda i: self.session.set_speed(SPEEDS[i][1]))
        bar.addWidget(self.speed)
        self.loop = QtWidgets.QCheckBox("loop")
        self.loop.setChecked(self.session.sources.loop)
        self.loop.toggled.connect(self.session.set_loop)
        bar.addWidget(self.loop)
        bar.addSeparator()
        bar.addAction("Model…", self.choose_model)
        self.precision = QtWidgets.QComboBox()
        self.precision.addItems(PRECISIONS)
        self.precision.setCurrentText(self.session.options.precision)
        self.precision.currentTextChanged.connect(self.change_precision)
        bar.addWidget(self.precision)
        self.filter = QtGui.QAction("Filter noise", self, checkable=True)
        self.filter.setToolTip("refractory period per pixel + background-activity (denoise) filter")
        o = self.session.options
        self.filter.setChecked(o.filters_on)
        self._filter_us = (o.denoise_us or DEFAULT_DENOISE_US, o.refractory_us or DEFAULT_REFRACTORY_US)
        self.filter.toggled.connect(self.toggle_filter)
        bar.addAction(self.filter)
        bar.addSeparator()
        self.rec = QtGui.QAction("● Record", self, checkable=True)
        self.rec.toggled.connect(self.toggle_record)
        bar.addAction(self.rec)
        self.teach = TeachPanel(self.session, self)
        self.addDockWidget(QtCore.Qt.DockWidgetArea.RightDockWidgetArea, self.teach)
        self.teach.hide()
        self.teach.tuning.connect(self.hold_source)
        self._held: str | None = None  # how the source was held for a fine-tuning: "paused", a spec to reopen
        teach = self.teach.toggleViewAction()
        teach.setText("Teach…")
        teach.setToolTip("record takes of a gesture of your own and fine-tune the model on them")
        bar.addAction(teach)
        self.refresh_ports()
        self._build_display_bar()
        self._build_shortcuts()

    def _build_display_bar(self) -> None:
        self.addToolBarBreak()
        bar = self.addToolBar("display")
        bar.setMovable(False)
        bar.addWidget(QtWidgets.QLabel(" accumulate "))
        self.accumulate = QtWidgets.QSpinBox()
        self.accumulate.setRange(5, 500)
        self.accumulate.setSingleStep(5)
        self.accumulate.setSuffix(" ms")
        self.accumulate.setValue(self.events.window_ms)
        self.accumulate.setToolTip("how far back the event view shows events (5–500 ms)")
        self.accumulate.valueChanged.connect(lambda v: setattr(self.events, "window_ms", int(v)))
        bar.addWidget(self.accumulate)
        self.decay = QtWidgets.QComboBox()
        self.decay.addItems(DECAYS)
        self.decay.setToolTip("how older events fade: none, linearly, or exponentially")
        self.decay.currentTextChanged.connect(lambda d: setattr(self.events, "decay", d))
        bar.addWidget(QtWidgets.QLabel(" decay "))
        bar.addWidget(self.decay)
        self.scheme = QtWidgets.QComboBox()
        self.scheme.addItems(list(SCHEMES))
        self.scheme.setToolTip("ON / OFF colours of the event view")
        self.scheme.currentTextChanged.connect(self.events.set_scheme)
        bar.addWidget(QtWidgets.QLabel(" colours "))
        bar.addWidget(self.scheme)
        bar.addSeparator()
        inputs = self.inputs.toggleViewAction()
        inputs.setText("Network input")
        inputs.setShortcut("I")
        bar.addAction(inputs)
        self.export_button = QtWidgets.QToolButton()
        self.export_button.setText("Export")
        self.export_button.setPopupMode(QtWidgets.QToolButton.ToolButtonPopupMode.InstantPopup)
        bar.addWidget(self.export_button)
        bar.addAction("Help", self.toggle_help)

    def _build_menus(self) -> None:
        menu = QtWidgets.QMenu("Export", self)
        self.export_png = menu.addAction("Dashboard PNG…", self.choose_png)
        # checkable: started by checking, stopped by unchecking (``toggled`` carries which; ``triggered`` does not)
        self.export_csv = menu.addAction("Per-bin CSV…")
        self.export_csv.setCheckable(True)
        self.export_csv.toggled.connect(self.toggle_csv)
        self.export_video = menu.addAction("Video MP4…")
        self.export_video.setCheckable(True)
        self.export_video.toggled.connect(self.toggle_video)
        self.export_menu = menu
        self.export_button.setMenu(menu)
        bar = self.menuBar()
        file_menu = bar.addMenu("&File")
        file_menu.addAction("Open file…", self.choose_file)
        file_menu.addMenu(menu)
        file_menu.addAction("Quit", self.close)
        view = bar.addMenu("&View")
        theme = view.addMenu("Theme")
        for name in ("dark", "light"):
            theme.addAction(name, lambda name=name: apply_theme(name))
        view.addAction(self.inputs.toggleViewAction())
        view.addAction(self.teach.toggleViewAction())
        bar.addMenu("&Help").addAction("Keyboard shortcuts", self.toggle_help)

    def _build_shortcuts(self) -> None:
        def key(seq, slot):
            QtGui.QShortcut(QtGui.QKeySequence(seq), self, slot)

        key("Space", self.play.toggle)
        key("Left", lambda: self.session.step(-1))
        key("Right", lambda: self.session.step(1))
        key("+", lambda: self.speed.setCurrentIndex(min(self.speed.currentIndex() + 1, self.speed.count() - 1)))
        key("=", lambda: self.speed.setCurrentIndex(min(self.speed.currentIndex() + 1, self.speed.count() - 1)))
        key("-", lambda: self.speed.setCurrentIndex(max(self.speed.currentIndex() - 1, 0)))
        key("R", self.rec.toggle)
        key("L", self.loop.toggle)
        key("F", self.filter.toggle)
        for n, name in enumerate(list(PRECISIONS)[:4], start=1):
            key(str(n), lambda name=name: self.precision.setCurrentText(name))
        key("Ctrl+E", lambda: self.export_menu.popup(self.mapToGlobal(self.rect().center())))
        key("F1", self.toggle_help)
        key("?", self.toggle_help)
        key("Escape", self.help.hide)

    def toggle_help(self) -> None:
        if self.help.isVisible():
            self.help.hide()
            return
        self.help.adjustSize()
        self.help.move((self.width() - self.help.width()) // 2, (self.height() - self.help.height()) // 2)
        self.help.raise_()
        self.help.show()

    # -- export -------------------------------------------------------------------------------------------
    def choose_png(self) -> None:
        path, _ = QtWidgets.QFileDialog.getSaveFileName(self, "Dashboard as PNG", "sast-live.png", "PNG (*.png)")
        if path:
            try:
                self.report(f"saved {export.save_png(self, path)}")
            except SastLiveError as exc:
                QtWidgets.QMessageBox.warning(self, "Export", str(exc))

    def start_csv(self, path: str) -> None:
        """Write a row per bin to ``path`` from now until :meth:`stop_csv`."""
        b = self.session.backend
        self.bin_csv = export.BinCsv(path, b.classes, len(b.layer_sizes))
        self.session.set_bin_sink(self.bin_csv)
        self.report(f"writing a row per bin to {path}")

    def stop_csv(self) -> None:
        sink, self.bin_csv = self.bin_csv, None
        if sink is not None:
            self.session.set_bin_sink(None)
            self.report(f"wrote {sink.close():,} bins to {sink.path}")

    def toggle_csv(self, on: bool) -> None:
        if on:
            self._start_export(self.export_csv, "Per-bin CSV", "sast-live-bins.csv", "CSV (*.csv)", self.start_csv)
        else:
            self.stop_csv()

    def _start_export(self, action, title: str, default: str, filters: str, start) -> None:
        """Ask where to write, then ``start(path)``; a cancelled dialog or a failed start unchecks ``action``
        (the failure said in a message box)."""
        path, _ = QtWidgets.QFileDialog.getSaveFileName(self, title, default, filters)
        try:
            if path:
                start(path)
                return
        except (SastLiveError, OSError) as exc:
            QtWidgets.QMessageBox.warning(self, title, str(exc))
        _uncheck(action)

    def start_video(self, path: str) -> None:
        """Record the window to an MP4 from now until :meth:`stop_video` (or the replay ends)."""
        self.video = export.VideoWriter(path, fps=round(1000 / REFRESH_MS))
        self.report(f"recording the window to {path}")

    def stop_video(self) -> None:
        video, self.video = self.video, None
        if video is None:
            return
        _uncheck(self.export_video)
        try:
            n = video.close()
            self.report(f"wrote {n} frames to {video.path}" + (f" ({video.dropped} dropped)" if video.dropped else ""))
        except SastLiveError as exc:
            QtWidgets.QMessageBox.warning(self, "Export", str(exc))

    def toggle_video(self, on: bool) -> None:
        if on:
            self._start_export(self.export_video, "Video of the window", "sast-live.mp4", "MP4 (*.mp4)",
                               self.start_video)
        else:
            self.stop_video()

    # -- actions ------------------------------------------------------------------------------------------
    def report(self, message: str) -> None:
        self.statusBar().showMessage(message, 8000)

    def open_source(self, spec: str) -> None:
        try:
            self.session.set_protocol(self.protocol.currentText())
            self.session.open(spec)
            self.report(f"opened {spec}")
        except SastLiveError as exc:
            QtWidgets.QMessageBox.warning(self, "Cannot open source", str(exc))

    def choose_file(self) -> None:
        path, _ = QtWidgets.QFileDialog.getOpenFileName(
            self, "Open a recording", "", "Event files (*.raw *.dat *.bin *.bs2 *.npy *.aedat *.aedat4);;All (*)")
        if path:
            self.open_source(path)

    def refresh_ports(self) -> None:
        from serial.tools import list_ports

        self.ports.clear()
        ports = list_ports.comports()
        self.ports.addItem("serial port…" if ports else "(no serial ports)", None)  # no port looks connected
        for port in ports:
            about = port.description if port.description and port.description != "n/a" else ""
            self.ports.addItem(f"{port.device} {about}".strip(), port.device)

    def connect_port(self) -> None:
        device = self.ports.currentData()
        if device is None:
            text, ok = QtWidgets.QInputDialog.getText(self, "Serial port", "Port (e.g. /dev/ttyUSB0, /dev/pts/3):")
            if not ok or not text:
                return
            device = text
        self.open_source(f"{self.protocol.currentText()}:{device}")

    def toggle_pause(self, paused: bool) -> None:
        self.session.set_paused(paused)
        self.play.setText("Play" if paused else "Pause")

    def hold_source(self, hold: bool) -> None:
        """Hold the source still while a fine-tuning trains (pause a file or the synthetic camera; stop a live
        camera, which cannot wait) and give it back as it was after."""
        if hold:
            self._held = None
            if self.session.can_pace and not self.play.isChecked():
                self.play.setChecked(True)
                self._held = "paused"
            elif not self.session.can_pace and self.session.runner is not None:
                self._held = self.session.spec
                self.session.stop()
            if self._held:
                self.report("source held while the model trains")
            return
        held, self._held = self._held, None
        if held == "paused":
            self.play.setChecked(False)
        elif held:
            self.open_source(held)

    def change_precision(self, precision: str) -> None:
        self.report(f"loading {precision}…")
        self.session.set_model(self.session.options.model, precision, done=self._loaded)

    def choose_model(self) -> None:
        path = QtWidgets.QFileDialog.getExistingDirectory(self, "Training run or exported firmware folder")
        if path:
            self.session.set_model(path, self.precision.currentText(), done=self._loaded)

    def toggle_filter(self, on: bool) -> None:
        denoise_us, refractory_us = self._filter_us if on else (None, None)
        self.session.set_filters(denoise_us, refractory_us, done=self._loaded)

    def _loaded(self, error: str | None) -> None:
        # called on the loader or the worker thread: hand the message to the GUI thread
        QtCore.QMetaObject.invokeMethod(self, "_show_message", QtCore.Qt.ConnectionType.QueuedConnection)

    @QtCore.pyqtSlot()
    def _show_message(self) -> None:
        self.report(self.session.message)

    def toggle_record(self, on: bool) -> None:
        if on:
            self._start_export(self.rec, "Record to", "recording.raw", "EVT3 (*.raw);;NumPy (*.npy);;DAT (*.dat)",
                               self.start_recording)
            return
        try:
            self.session.stop_recording()
            self.report(self.session.message)
        except SastLiveError as exc:
            QtWidgets.QMessageBox.warning(self, "Recording", str(exc))

    def start_recording(self, path: str) -> None:
        self.session.start_recording(path)
        self.report(f"recording to {path}")

    # -- rendering ----------------------------------------------------------------------------------------
    def refresh(self) -> None:
        snap = self.session.latest()
        if snap is None or snap is self.last_snapshot:
            if self.max_frames is not None and snap is not None and snap.finished:
                self.close()  # --frames N: the stream ended before N frames were drawn
            return
        self.last_snapshot = snap
        self.events.update_view(snap)
        self.prediction.update_view(snap)
        self.spikes.update_view(snap)
        self.energy.update_view(snap)
        self.timeline.update_view()
        if self.timeline.isVisibleTo(self) != self._timeline_shown:  # no timeline (a live source): events fill in
            self._timeline_shown = self.timeline.isVisibleTo(self)
            self.grid.addWidget(self.events, 0, 0, 2 if self._timeline_shown else 3, 1)
        self.inputs.update_view(snap)
        per_s = 1e6 / snap.bin_us
        self.synops_plot.set_history(snap.synops_history, snap.bin_us, per_s)
        self.rate_plot.set_history(snap.events_history, snap.bin_us, per_s)
        self.counter.setText(f"{snap.synops_total:,} SynOps · {snap.energy_uj:,.1f} µJ · "
                             f"{snap.synops_per_s / 1e6:,.2f} M SynOps/s · {snap.event_rate / 1e3:,.1f} k ev/s")
        now = time.monotonic()
        self.render_times.append(now)
        self.latencies_ms.append((now - snap.arrival_wall) * 1e3)
        self.status.setText(self.status_line(snap))
        if self.video is not None:
            self.video.add(export.grab_rgb(self))
            if snap.finished:
                self.stop_video()  # the replay ended: so does its video
        self.frames_rendered += 1
        if self.max_frames is not None and self.frames_rendered >= self.max_frames:
            self.close()

    def fps(self, over_s: float = 3.0) -> float:
        """Frames per second over the last ``over_s`` seconds of frames (a pause in between does not count)."""
        since = self.render_times[-1] - over_s if self.render_times else 0.0
        t = [x for x in self.render_times if x >= since]
        return (len(t) - 1) / (t[-1] - t[0]) if len(t) > 1 and t[-1] > t[0] else 0.0

    def status_line(self, snap) -> str:
        s = snap.source_stats
        speed = self.session.sources.speed
        parts = [snap.source, "live" if not self.session.can_pace else ("max speed" if not speed else f"{speed:g}×"),
                 snap.backend, f"t {snap.t_us / 1e6:,.2f} s", f"{self.fps():.0f} fps",
                 f"dropped {snap.dropped_bins} bins"]
        if self.latencies_ms:
            parts.insert(-1, f"latency {np.median(self.latencies_ms[-30:]):.0f} ms")
        if snap.late_events:
            parts.append(f"{snap.late_events:,} late events skipped")
        if snap.filters:
            share = snap.events_filtered / max(snap.events_in, 1)
            parts.append(f"filtered {snap.events_filtered:,} of {snap.events_in:,} events ({share:.0%})")
            if snap.input_synops_saved:
                saved = snap.input_synops_saved / max(snap.input_synops + snap.input_synops_saved, 1)
                parts.append(f"filters saved {snap.input_synops_saved:,} input-layer SynOps ({saved:.0%})")
        if s.get("resyncs") or s.get("losses") or s.get("errors"):
            parts.append(f"resyncs {s['resyncs']} lost {s['losses']} errors {s['errors']}")
        if snap.error or s.get("last_error"):
            parts.append(f"⚠ {snap.error or s['last_error']}")
        if snap.finished:
            parts.append("ended")
        return " · ".join(parts)

    def closeEvent(self, event) -> None:  # noqa: N802 - Qt's name
        self.timer.stop()
        self.stop_video()
        self.stop_csv()
        try:
            self.session.stop()
        except SastLiveError as exc:
            print(f"error: {exc}")
        event.accept()


def _uncheck(action) -> None:
    """Uncheck a checkable action or button without running what its toggle does."""
    action.blockSignals(True)
    action.setChecked(False)
    action.blockSignals(False)
