"""The window's controls: the two toolbars, the keys, the help overlay, and what each does — every action one
call of a :class:`~sast_live.session.Session` method (so each is tested without a window)."""

from __future__ import annotations

from PyQt6 import QtCore, QtGui, QtWidgets

from firmware_sim.precisions import PRECISIONS
from sast_live.errors import SastLiveError
from sast_live.gui.export_menu import set_quietly
from sast_live.gui.palette import SCHEMES
from sast_live.pipeline.options import DEFAULT_DENOISE_US, DEFAULT_REFRACTORY_US
from sast_live.transforms.event_image import DECAYS

SPEEDS = [("0.25×", 0.25), ("0.5×", 0.5), ("1×", 1.0), ("2×", 2.0), ("5×", 5.0), ("10×", 10.0), ("max", None)]
SHORTCUTS = [("Space", "pause / play"), ("← / →", "one bin back / forward (paused, recordings)"),
             ("+ / −", "faster / slower replay"), ("R", "record the stream to a file"), ("L", "loop the recording"),
             ("F", "noise filter on / off"), ("1 – 4", "precision: float, hard, int8, int4"),
             ("T", "record a take (Teach panel)"), ("Ctrl+E", "export: dashboard PNG, per-bin CSV, video"),
             ("I", "network input and layer spikes"), ("F1 / ?", "this help")]


class HelpOverlay(QtWidgets.QLabel):
    """The keys, over the middle of the window (F1, ?; Esc closes)."""

    def __init__(self, window: QtWidgets.QWidget):
        super().__init__(window)
        self.setText("<h3>Keyboard</h3><table>" + "".join(
            f"<tr><td><b>{k}</b>&nbsp;&nbsp;</td><td>{v}</td></tr>" for k, v in SHORTCUTS) + "</table>"
            "<p>F1, ? or Esc closes this.</p>")
        self.setStyleSheet("background: rgba(10, 10, 14, 230); color: #eee; padding: 18px; "
                           "border: 1px solid #888; font-size: 11pt;")
        self.hide()

    def toggle(self) -> None:
        if self.isVisible():
            self.hide()
            return
        self.adjustSize()
        parent = self.parentWidget()
        self.move((parent.width() - self.width()) // 2, (parent.height() - self.height()) // 2)
        self.raise_()
        self.show()


class Controls(QtCore.QObject):
    """Builds the toolbars of ``window`` and its keys; ``report(text)`` tells the user how an action went.

    ``teach`` and ``inputs`` are the window's docks (the toolbars toggle them); ``export_menu`` drops down from the
    display bar's Export button.
    """

    def __init__(self, window: QtWidgets.QMainWindow, session, report, teach, inputs, export_menu):
        super().__init__(window)
        self.window, self.session, self.report = window, session, report
        self.teach, self.inputs, self.export_menu = teach, inputs, export_menu
        self.help = HelpOverlay(window)
        self._held: str | None = None  # how the source was held for a fine-tuning: "paused", a spec to reopen
        self._build_source_bar()
        self._build_display_bar()
        self._build_shortcuts()
        teach.tuning.connect(self.hold_source)

    # -- what the window remembers (sast_live.gui.settings) ------------------------------------------------------
    def restore(self, settings) -> None:
        """The display bar as it was left: colours, accumulate window, decay."""
        from sast_live.gui.settings import read_choice, read_int

        self.scheme.setCurrentText(read_choice(settings, "scheme", SCHEMES, self.scheme.currentText()))
        self.accumulate.setValue(read_int(settings, "accumulate_ms", 5, 500, self.accumulate.value()))
        self.decay.setCurrentText(read_choice(settings, "decay", DECAYS, self.decay.currentText()))

    def save(self, settings) -> None:
        settings.setValue("scheme", self.scheme.currentText())
        settings.setValue("accumulate_ms", self.accumulate.value())
        settings.setValue("decay", self.decay.currentText())

    # -- building -----------------------------------------------------------------------------------------------
    def _build_source_bar(self) -> None:
        bar = self.window.addToolBar("controls")
        bar.setObjectName("controls")
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
        self.synthetic = QtWidgets.QToolButton()
        self.synthetic.setText("Synthetic")
        self.synthetic.setToolTip("a synthetic camera: gesture outlines, or the stand-in person (random gestures or "
                                  "one motion again and again: what teaching a gesture of your own can start from)")
        self.synthetic.setPopupMode(QtWidgets.QToolButton.ToolButtonPopupMode.InstantPopup)
        self.synthetic.setMenu(self.synthetic_menu())
        bar.addWidget(self.synthetic)
        bar.addSeparator()
        self.play = QtGui.QAction("Pause", self.window, checkable=True)
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
        self.precision.setCurrentText(self.session.backend.precision.name)
        self.precision.currentTextChanged.connect(self.change_precision)
        bar.addWidget(self.precision)
        self.filter = QtGui.QAction("Filter noise", self.window, checkable=True)
        self.filter.setToolTip("refractory period per pixel + background-activity (denoise) filter")
        o = self.session.options
        self.filter.setChecked(o.filters_on)
        self._filter_us = (o.denoise_us or DEFAULT_DENOISE_US, o.refractory_us or DEFAULT_REFRACTORY_US)
        self.filter.toggled.connect(self.toggle_filter)
        bar.addAction(self.filter)
        bar.addSeparator()
        self.rec = QtGui.QAction("● Record", self.window, checkable=True)
        self.rec.toggled.connect(self.toggle_record)
        bar.addAction(self.rec)
        teach = self.teach.toggleViewAction()
        teach.setText("Teach…")
        teach.setToolTip("record takes of a gesture of your own and teach the model them (seconds)")
        bar.addAction(teach)
        self.refresh_ports()

    def _build_display_bar(self) -> None:
        self.window.addToolBarBreak()
        bar = self.window.addToolBar("display")
        bar.setObjectName("display")
        bar.setMovable(False)
        bar.addWidget(QtWidgets.QLabel(" accumulate "))
        image = self.session.event_image
        self.accumulate = QtWidgets.QSpinBox()
        self.accumulate.setRange(5, 500)
        self.accumulate.setSingleStep(5)
        self.accumulate.setSuffix(" ms")
        self.accumulate.setValue(image.window_us // 1000)
        self.accumulate.setToolTip("how far back the event view shows events (5–500 ms)")
        self.accumulate.valueChanged.connect(self.set_event_image)
        bar.addWidget(self.accumulate)
        self.decay = QtWidgets.QComboBox()
        self.decay.addItems(DECAYS)
        self.decay.setCurrentText(image.decay)
        self.decay.setToolTip("how older events fade: none, linearly, or exponentially")
        self.decay.currentTextChanged.connect(self.set_event_image)
        bar.addWidget(QtWidgets.QLabel(" decay "))
        bar.addWidget(self.decay)
        self.scheme = QtWidgets.QComboBox()
        self.scheme.addItems(list(SCHEMES))
        self.scheme.setToolTip("ON / OFF colours of the event view")
        self.scheme.currentTextChanged.connect(self.window.dashboard.events.set_scheme)
        bar.addWidget(QtWidgets.QLabel(" colours "))
        bar.addWidget(self.scheme)
        bar.addSeparator()
        self.region = QtGui.QAction("Region", self.window, checkable=True)
        self.region.setToolTip("only a region of the sensor reaches the network: drag and resize the green rectangle")
        self.region.toggled.connect(self.toggle_region)
        bar.addAction(self.region)
        self.hot_button = QtWidgets.QToolButton()
        self.hot_button.setText("Hot pixels")
        self.hot_button.setToolTip("mask pixels that fire on their own (red crosses): their events never reach "
                                   "the network")
        self.hot_button.setPopupMode(QtWidgets.QToolButton.ToolButtonPopupMode.InstantPopup)
        hot = QtWidgets.QMenu(self.window)
        hot.addAction("Find and mask (counts 1 s of the stream)", self.find_hot_pixels)
        hot.addAction("Clear the mask", self.clear_mask)
        self.hot_button.setMenu(hot)
        bar.addWidget(self.hot_button)
        self.window.dashboard.region_moved = self.move_region
        inputs = self.inputs.toggleViewAction()
        inputs.setText("Network input")
        inputs.setShortcut("I")
        bar.addAction(inputs)
        self.export_button = QtWidgets.QToolButton()
        self.export_button.setText("Export")
        self.export_button.setPopupMode(QtWidgets.QToolButton.ToolButtonPopupMode.InstantPopup)
        self.export_button.setMenu(self.export_menu)
        bar.addWidget(self.export_button)
        bar.addAction("Help", self.help.toggle)

    def synthetic_menu(self) -> QtWidgets.QMenu:
        """The synthetic sources: outlines, the stand-in person at random, and the person performing one motion."""
        from sast_live.synthetic import people

        menu = QtWidgets.QMenu(self.window)
        menu.addAction("gesture outlines", lambda: self.open_source("synthetic:gestures"))
        menu.addAction("stand-in person: random gestures", lambda: self.open_source("synthetic:people"))
        one = menu.addMenu("stand-in person: one motion")
        for name in people.MOTIONS:
            one.addAction(name.replace("_", " "), lambda m=name: self.open_source(f"synthetic:people:{m}"))
        return menu

    def _build_shortcuts(self) -> None:
        def key(seq, slot):
            QtGui.QShortcut(QtGui.QKeySequence(seq), self.window, slot)

        def faster(step: int):
            return lambda: self.speed.setCurrentIndex(min(max(self.speed.currentIndex() + step, 0),
                                                          self.speed.count() - 1))

        key("Space", self.play.toggle)
        key("Left", lambda: self.session.step(-1))
        key("Right", lambda: self.session.step(1))
        key("+", faster(1))
        key("=", faster(1))
        key("-", faster(-1))
        key("R", self.rec.toggle)
        key("L", self.loop.toggle)
        key("F", self.filter.toggle)
        for n, name in enumerate(list(PRECISIONS)[:4], start=1):
            key(str(n), lambda name=name: self.precision.setCurrentText(name))
        key("Ctrl+E", lambda: self.export_menu.popup(self.window.mapToGlobal(self.window.rect().center())))
        key("F1", self.help.toggle)
        key("?", self.help.toggle)
        key("Escape", self.help.hide)

    # -- sources ------------------------------------------------------------------------------------------------
    def open_source(self, spec: str) -> None:
        try:
            self.session.set_protocol(self.protocol.currentText())
            self.session.open(spec)
            self.report(f"opened {spec}")
            self.window.remember_file(spec)
            set_quietly(self.play, False)  # a new source plays: the button says what it does next
            self.play.setText("Pause")
        except SastLiveError as exc:
            QtWidgets.QMessageBox.warning(self.window, "Cannot open source", str(exc))

    def choose_file(self) -> None:
        path, _ = QtWidgets.QFileDialog.getOpenFileName(
            self.window, "Open a recording", "",
            "Event files (*.raw *.dat *.bin *.bs2 *.npy *.aedat *.aedat4);;All (*)")
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
            text, ok = QtWidgets.QInputDialog.getText(self.window, "Serial port",
                                                      "Port (e.g. /dev/ttyUSB0, /dev/pts/3):")
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
        self.window.dashboard.prediction.hold("teaching…" if hold else None)
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

    # -- what runs on the stream --------------------------------------------------------------------------------
    def change_precision(self, precision: str) -> None:
        self.report(f"loading {precision}…")
        self.session.set_model(self.session.options.model, precision, done=self._loaded)

    def choose_model(self) -> None:
        path = QtWidgets.QFileDialog.getExistingDirectory(self.window, "Training run or exported firmware folder")
        if path:
            self.session.set_model(path, self.precision.currentText(), done=self._loaded)

    def toggle_filter(self, on: bool) -> None:
        denoise_us, refractory_us = self._filter_us if on else (None, None)
        self.session.set_filters(denoise_us, refractory_us, done=self._loaded)

    def set_event_image(self, *_) -> None:
        self.session.set_event_image(self.accumulate.value(), self.decay.currentText())

    def _loaded(self, error: str | None) -> None:
        # called on the loader or the worker thread: hand the message to the GUI thread
        QtCore.QMetaObject.invokeMethod(self, "_show_message", QtCore.Qt.ConnectionType.QueuedConnection)

    @QtCore.pyqtSlot()
    def _show_message(self) -> None:
        self.report(self.session.message)

    # -- which pixels reach the network (sast_live.transforms.mask) ----------------------------------------------
    def _set_mask(self, roi, hot) -> bool:
        try:
            self.session.set_mask(roi, hot, done=self._loaded)
        except SastLiveError as exc:
            QtWidgets.QMessageBox.warning(self.window, "Region and mask", str(exc))
            return False
        return True

    def toggle_region(self, on: bool) -> None:
        """On: the middle three quarters of the sensor, a rectangle to drag; off: the whole sensor."""
        pipeline, mask = self.session.pipeline, self.session.mask
        hot = mask.hot if mask is not None else ()
        if pipeline is None:
            set_quietly(self.region, False)
            self.report("open a source first")
            return
        w, h = pipeline.sensor_size.width, pipeline.sensor_size.height
        self._set_mask((w // 8, h // 8, w - w // 8, h - h // 8) if on else None, hot)

    def sync_region(self) -> None:
        """The Region button says whether a region is in force (one from --roi, or dropped with another sensor)."""
        mask = self.session.mask
        on = mask is not None and mask.roi is not None
        if on != self.region.isChecked():
            set_quietly(self.region, on)

    def move_region(self, roi) -> None:
        mask = self.session.mask
        if roi is not None:
            self._set_mask(roi, mask.hot if mask is not None else ())

    def find_hot_pixels(self) -> None:
        try:
            self.session.detect_hot_pixels(1.0, done=self._loaded)
            self.report(self.session.message)
        except SastLiveError as exc:
            QtWidgets.QMessageBox.warning(self.window, "Hot pixels", str(exc))

    def clear_mask(self) -> None:
        mask = self.session.mask
        self._set_mask(mask.roi if mask is not None else None, ())

    # -- recording ----------------------------------------------------------------------------------------------
    def toggle_record(self, on: bool) -> None:
        if on:
            self.export_menu.ask_and_start(self.rec, "Record to", "recording.raw",
                                           "EVT3 (*.raw);;NumPy (*.npy);;DAT (*.dat)", self.start_recording)
            return
        try:
            self.session.stop_recording()
            self.report(self.session.message)
        except SastLiveError as exc:
            QtWidgets.QMessageBox.warning(self.window, "Recording", str(exc))

    def start_recording(self, path: str) -> None:
        self.session.start_recording(path)
        self.report(f"recording to {path}")

