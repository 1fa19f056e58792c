"""The main window: controls (toolbar), panels (views.py), and a timer that polls the session's snapshot."""

from __future__ import annotations

import time
from collections import deque

import numpy as np
from PyQt6 import QtCore, QtGui, QtWidgets

from firmware_sim.precisions import PRECISIONS
from sast_live.errors import SastLiveError
from sast_live.gui.teach import TeachPanel
from sast_live.gui.views import EventView, PredictionPanel, RatePlot, SpikePanel
from sast_live.session import DEFAULT_DENOISE_US, DEFAULT_REFRACTORY_US

SPEEDS = [("0.25×", 0.25), ("0.5×", 0.5), ("1×", 1.0), ("2×", 2.0), ("5×", 5.0), ("10×", 10.0), ("max", None)]
REFRESH_MS = 33  # ~30 Hz


class MainWindow(QtWidgets.QMainWindow):
    def __init__(self, session, max_frames: int | None = None):
        super().__init__()
        self.session, self.max_frames = session, max_frames
        self.setWindowTitle("SAST-Live")
        self.frames_rendered = 0
        self.render_times: deque = deque(maxlen=300)
        self.latencies_ms: list[float] = []
        self.last_snapshot = None
        self._build_panels()
        self._build_controls()
        self.timer = QtCore.QTimer(self)
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
        grid.addWidget(self.events, 0, 0, 2, 1)
        grid.addWidget(self.prediction, 0, 1)
        grid.addWidget(self.spikes, 1, 1)
        grid.addWidget(self.synops_plot, 2, 0)
        grid.addWidget(self.rate_plot, 2, 1)
        grid.setColumnStretch(0, 3)
        grid.setColumnStretch(1, 2)
        self.setCentralWidget(central)
        self.status = QtWidgets.QLabel()
        self.statusBar().addWidget(self.status, 1)
        self.counter = QtWidgets.QLabel()
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
        for port in list_ports.comports():
            self.ports.addItem(f"{port.device} {port.description or ''}".strip(), port.device)
        if self.ports.count() == 0:
            self.ports.addItem("(no serial ports)", None)

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
        try:
            if on:
                path, _ = QtWidgets.QFileDialog.getSaveFileName(self, "Record to", "recording.raw",
                                                                "EVT3 (*.raw);;NumPy (*.npy);;DAT (*.dat)")
                if not path:
                    self.rec.setChecked(False)
                    return
                self.session.start_recording(path)
                self.report(f"recording to {path}")
            else:
                self.session.stop_recording()
                self.report(self.session.message)
        except SastLiveError as exc:
            self.rec.blockSignals(True)
            self.rec.setChecked(False)
            self.rec.blockSignals(False)
            QtWidgets.QMessageBox.warning(self, "Recording", str(exc))

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
        per_s = 1e6 / snap.bin_us
        self.synops_plot.set_history(snap.synops_history, snap.bin_us, per_s)
        self.rate_plot.set_history(snap.events_history, snap.bin_us, per_s)
        self.counter.setText(f"{snap.synops_total:,} SynOps · {snap.energy_uj:,.1f} µJ · "
                             f"{snap.synops_per_s / 1e6:,.2f} M SynOps/s · {snap.event_rate / 1e3:,.1f} k ev/s")
        now = time.monotonic()
        self.render_times.append(now)
        self.latencies_ms.append((now - snap.arrival_wall) * 1e3)
        self.status.setText(self.status_line(snap))
        self.frames_rendered += 1
        if self.max_frames is not None and self.frames_rendered >= self.max_frames:
            self.close()

    def fps(self) -> float:
        t = self.render_times
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
        if s.get("resyncs") or s.get("losses") or s.get("errors"):
            parts.append(f"resyncs {s['resyncs']} lost {s['losses']} errors {s['errors']}")
        if snap.error or s.get("last_error"):
            parts.append(f"⚠ {snap.error or s['last_error']}")
        if snap.finished:
            parts.append("ended")
        return " · ".join(parts)

    def closeEvent(self, event) -> None:  # noqa: N802 - Qt's name
        self.timer.stop()
        try:
            self.session.stop()
        except SastLiveError as exc:
            print(f"error: {exc}")
        event.accept()
