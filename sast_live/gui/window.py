"""The main window: the :class:`~sast_live.gui.dashboard.Dashboard` of panels in the middle, the docks (network
input, teaching), the :class:`~sast_live.gui.controls.Controls` (toolbars and keys), the
:class:`~sast_live.gui.export_menu.ExportMenu`, a status bar, and a timer that polls the session's snapshot and
hands it to each of them."""

from __future__ import annotations

import os
import time
from collections import deque

import numpy as np
from PyQt6 import QtCore, QtWidgets

from sast_live.errors import SastLiveError
from sast_live.gui.controls import Controls
from sast_live.gui.dashboard import Dashboard
from sast_live.gui.export_menu import VIDEO_SPEEDS, ExportMenu
from sast_live.gui.inspector import InputView
from sast_live.gui.settings import add_recent, open_settings, read_choice, read_float, recent_files
from sast_live.gui.teach import TeachPanel
from sast_live.gui.theme import THEMES, apply_theme
from sast_live.gui.views import ElidedLabel

#: the window's size: this share of the screen it opens on, at least 1280 × 720 (or the whole of a smaller one)
SCREEN_SHARE = 0.85
DOCK_SHARE = 0.3  # of the window's width for an opened dock
OVERLOAD_S = 3.0  # the overload sign shows while bins were dropped this recently (wall-clock seconds)

REFRESH_MS = 28  # 36 Hz: a 33-ms timer tops out at 30.3 Hz, where one late frame pulls the rate under the 30 fps target


class MainWindow(QtWidgets.QMainWindow):
    """``max_frames``: close after that many frames are drawn (or when the stream ends first)."""

    def __init__(self, session, max_frames: int | None = None):
        super().__init__()
        self.session, self.max_frames = session, max_frames
        self.setWindowTitle("SAST-Live")
        self.frames_rendered = 0
        self.render_times: deque = deque(maxlen=300)
        self.latencies_ms: list[float] = []
        self.last_snapshot = None
        self.settings = open_settings()
        self.remember_docks = True  # False when the command line opened the docks (gui --panels all)
        self.theme = read_choice(self.settings, "theme", THEMES, "dark")
        apply_theme(self.theme)
        self.dashboard = Dashboard(session)
        self.setCentralWidget(self.dashboard)
        self.inputs = InputView(self)
        self.inputs.setObjectName("inputs")  # saveState / restoreState find docks and toolbars by name
        self.addDockWidget(QtCore.Qt.DockWidgetArea.RightDockWidgetArea, self.inputs)
        self.inputs.hide()
        self.teach = TeachPanel(session, self)
        self.teach.setObjectName("teach")
        self.addDockWidget(QtCore.Qt.DockWidgetArea.RightDockWidgetArea, self.teach)
        self.tabifyDockWidget(self.inputs, self.teach)  # both open: tabs, not a stack taller than a 720-px screen
        self.teach.hide()
        for dock in (self.inputs, self.teach):
            # once the dock is laid out (a resize asked for before that is overridden by the content's wish)
            dock.visibilityChanged.connect(
                lambda shown, dock=dock: shown and QtCore.QTimer.singleShot(0, lambda: self.size_dock(dock)))
        self.exports = ExportMenu(self, session, self.report)
        self.exports.set_video_speed(read_float(self.settings, "video_speed", VIDEO_SPEEDS, 1.0))
        self.controls = Controls(self, session, self.report, self.teach, self.inputs, self.exports)
        self.controls.restore(self.settings)
        self._build_menus()
        self._build_status_bar()
        self.timer = QtCore.QTimer(self)
        self.timer.setTimerType(QtCore.Qt.TimerType.PreciseTimer)  # a coarse timer may fire up to 5 % late
        self.timer.timeout.connect(self.refresh)
        self.timer.start(REFRESH_MS)
        geometry, state = self.settings.value("geometry"), self.settings.value("state")
        if not (isinstance(geometry, QtCore.QByteArray) and self.restoreGeometry(geometry)):
            self.fit_to_screen()
        if isinstance(state, QtCore.QByteArray):
            self.restoreState(state)  # which docks were open, and where

    def size_dock(self, dock: QtWidgets.QDockWidget) -> None:
        """An opened dock takes :data:`DOCK_SHARE` of the window's width (or what it needs), not the half its
        content would ask for: the panels keep most of the window."""
        width = max(dock.widget().minimumSizeHint().width(), int(DOCK_SHARE * self.width()))
        self.resizeDocks([dock], [width], QtCore.Qt.Orientation.Horizontal)

    def fit_to_screen(self) -> None:
        """Open at :data:`SCREEN_SHARE` of the screen (a 1920 screen gets a 1632-px window, a 4K one more), never
        under 1280 × 720 unless the screen itself is smaller, centred."""
        screen = self.screen() or QtWidgets.QApplication.primaryScreen()
        area = screen.availableGeometry() if screen is not None else QtCore.QRect(0, 0, 1280, 820)
        w = min(area.width(), max(1280, int(area.width() * SCREEN_SHARE)))
        h = min(area.height(), max(720, int(area.height() * SCREEN_SHARE)))
        self.resize(w, h)
        self.move(area.x() + (area.width() - w) // 2, area.y() + (area.height() - h) // 2)

    def _build_menus(self) -> None:
        bar = self.menuBar()
        file_menu = bar.addMenu("&File")
        file_menu.addAction("Open file…", self.controls.choose_file)
        self.recent = file_menu.addMenu("Open recent")
        self.recent.aboutToShow.connect(self._fill_recent)
        file_menu.addMenu(self.exports)
        file_menu.addAction("Quit", self.close)
        view = bar.addMenu("&View")
        theme = view.addMenu("Theme")
        for name in THEMES:
            theme.addAction(name, lambda name=name: self.set_theme(name))
        view.addAction(self.inputs.toggleViewAction())
        view.addAction(self.teach.toggleViewAction())
        bar.addMenu("&Help").addAction("Keyboard shortcuts", self.controls.help.toggle)

    def set_theme(self, name: str) -> None:
        self.theme = name
        apply_theme(name)

    def _fill_recent(self) -> None:
        self.recent.clear()
        files = recent_files(self.settings)
        for path in files:
            self.recent.addAction(path, lambda path=path: self.controls.open_source(path))
        if not files:
            self.recent.addAction("(none yet)").setEnabled(False)

    def remember_file(self, spec: str) -> None:
        """A recording that was opened goes first in File → Open recent."""
        if os.path.isfile(spec):
            add_recent(self.settings, spec)
            self.settings.sync()  # on disk now: a window that is killed keeps it

    def save_settings(self) -> None:
        """What the next window starts with (:mod:`sast_live.gui.settings`)."""
        s = self.settings
        s.setValue("geometry", self.saveGeometry())
        if self.remember_docks:
            s.setValue("state", self.saveState())
        s.setValue("theme", self.theme)
        s.setValue("video_speed", self.exports.video_speed)
        self.controls.save(s)
        s.sync()

    def _build_status_bar(self) -> None:
        """Three fields side by side, each in its own share of the bar whatever their text (no relayout as digits
        are added, no field running under the next): what runs, an overload sign, the counters. Text that does
        not fit ends in "…", the whole of it in the tooltip."""
        bar = self.statusBar()
        self.status = ElidedLabel()
        self.overload = ElidedLabel()
        self.overload.setStyleSheet("color: #ff6060; font-weight: bold;")
        self.overload.setToolTip("the network could not keep up: bins were dropped (not run), shown as gaps in the "
                                 "SynOps plot and the spike raster; a slower replay or int8 keeps up")
        self.counter = ElidedLabel()
        self.counter.setStyleSheet("font-family: monospace;")
        bar.addWidget(self.status, 5)  # a message (report) shows in its place for a few seconds
        bar.addPermanentWidget(self.overload, 2)
        self.overload.hide()
        bar.addPermanentWidget(self.counter, 4)
        self._drops: deque = deque()  # (wall time, dropped bins so far), the last OVERLOAD_S seconds

    def report(self, message: str) -> None:
        self.statusBar().showMessage(message, 8000)

    # -- rendering ----------------------------------------------------------------------------------------------
    def refresh(self) -> None:
        snap = self.session.latest()
        if snap is None or snap is self.last_snapshot:
            if self.max_frames is not None and snap is not None and snap.finished:
                self.close()  # --frames N: the stream ended before N frames were drawn
            return
        self.last_snapshot = snap
        self.dashboard.update_view(snap)
        self.inputs.update_view(snap)
        self.counter.setText(f"{snap.synops_total:,} SynOps · {snap.energy_uj:,.1f} µJ · "
                             f"{snap.synops_per_s / 1e6:,.2f} M SynOps/s · {snap.event_rate / 1e3:,.1f} k ev/s")
        now = time.monotonic()
        self.render_times.append(now)
        self.latencies_ms.append((now - snap.arrival_wall) * 1e3)
        self.status.setText(self.status_line(snap))
        overload = self.overload_text(snap.dropped_bins, now)
        self.overload.setText(overload)
        if bool(overload) != self.overload.isVisibleTo(self):  # shown only while bins drop: its share goes back
            self.overload.setVisible(bool(overload))
        self.exports.add_frame(snap.t_us, snap.finished)
        self.exports.range_tick(snap.t_us)
        self.controls.sync_region()
        self.frames_rendered += 1
        if self.max_frames is not None and self.frames_rendered >= self.max_frames:
            self.close()

    def fps(self, over_s: float = 3.0) -> float:
        """Frames per second over the last ``over_s`` seconds of frames (a pause in between does not count)."""
        since = self.render_times[-1] - over_s if self.render_times else 0.0
        t = [x for x in self.render_times if x >= since]
        return (len(t) - 1) / (t[-1] - t[0]) if len(t) > 1 and t[-1] > t[0] else 0.0

    def overload_text(self, dropped: int, now: float) -> str:
        """The overload sign: bins dropped in the last :data:`OVERLOAD_S` seconds, or "" while none were."""
        self._drops.append((now, dropped))
        while len(self._drops) > 1 and self._drops[1][0] <= now - OVERLOAD_S:
            self._drops.popleft()
        recent = dropped - self._drops[0][1]
        return f"⚠ overload: {recent:,} bins dropped" if recent > 0 else ""

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
        mask = self.session.mask
        if snap.events_masked or mask is not None:
            parts.append(f"masked {snap.events_masked:,} events" + (f" ({mask.describe()})" if mask else ""))
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
        self.save_settings()
        self.timer.stop()
        self.exports.stop_video()
        self.exports.stop_csv()
        try:
            self.session.stop()
        except SastLiveError as exc:
            print(f"error: {exc}")
        event.accept()
