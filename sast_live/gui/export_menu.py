"""The Export menu (Ctrl+E): a PNG of the dashboard, a per-bin CSV of the stream, an MP4 of the window
(the writers are :mod:`sast_live.gui.export`)."""

from __future__ import annotations

import os

from PyQt6 import QtGui, QtWidgets

from sast_live.errors import SastLiveError
from sast_live.gui import export

VIDEO_SPEEDS = (0.25, 0.5, 1.0, 2.0, 4.0)  # seconds of recording per second of video


def set_quietly(action, checked: bool = False) -> None:
    """Check or uncheck a checkable action or button without running what its toggle does."""
    action.blockSignals(True)
    action.setChecked(checked)
    action.blockSignals(False)


class ExportMenu(QtWidgets.QMenu):
    """Its items start and stop the exports; ``report(text)`` tells the user how it went (the status bar).

    Attributes:
        bin_csv: the per-bin CSV being written, or None; video: the MP4 being recorded, or None.
    """

    def __init__(self, window: QtWidgets.QMainWindow, session, report, video_fps: float = 30.0):
        super().__init__("Export", window)
        self.window, self.session, self.report, self.video_fps = window, session, report, video_fps
        self.video_speed = 1.0  # seconds of recording per second of video
        self.bin_csv: export.BinCsv | None = None
        self.video: export.VideoWriter | None = None
        self.export_png = self.addAction("Dashboard PNG…", self.choose_png)
        # checkable: started by checking, stopped by unchecking (``toggled`` carries which; ``triggered`` does not)
        self.export_csv = self.addAction("Per-bin CSV…")
        self.export_csv.setCheckable(True)
        self.export_csv.toggled.connect(self.toggle_csv)
        self.export_video = self.addAction("Video MP4…")
        self.export_video.setCheckable(True)
        self.export_video.toggled.connect(self.toggle_video)
        panels = self.addMenu("Panel as SVG / PDF")
        d = window.dashboard
        for name, widget in (("event view", d.events), ("prediction", d.prediction), ("spikes", d.spikes),
                             ("energy", d.energy), ("timeline", d.timeline), ("SynOps/s plot", d.synops_plot),
                             ("events/s plot", d.rate_plot)):
            panels.addAction(name, lambda name=name, widget=widget: self.choose_vector(name, widget))
        self.export_range = self.addAction("Time range of the recording…", self.choose_range)
        self.export_range.setToolTip("replay a stretch of the recording into a per-bin CSV or a video")
        self.range: export.RangeExport | None = None  # a range export under way
        speeds = self.addMenu("Video speed")
        speeds.setToolTip("seconds of recording per second of video, whatever the replay speed")
        group = QtGui.QActionGroup(self)
        for speed in VIDEO_SPEEDS:
            item = speeds.addAction(f"{speed:g}× the recording", lambda speed=speed: self.set_video_speed(speed))
            item.setCheckable(True)
            item.setChecked(speed == self.video_speed)
            group.addAction(item)

    def ask_and_start(self, action, title: str, default: str, filters: str, start) -> None:
        """Ask where to write, then ``start(path)``; a cancelled dialog or a failed start unchecks ``action``
        (the failure said in a message box)."""
        path, _ = QtWidgets.QFileDialog.getSaveFileName(self.window, title, default, filters)
        try:
            if path:
                start(path)
                return
        except (SastLiveError, OSError) as exc:
            QtWidgets.QMessageBox.warning(self.window, title, str(exc))
        set_quietly(action)

    def _save_figure(self, title: str, default: str, filters: str, save) -> None:
        """Ask where to write, then ``save(path)`` (which returns the path written); said in the status bar, or a
        failure in a message box."""
        path, _ = QtWidgets.QFileDialog.getSaveFileName(self.window, title, default, filters)
        if path:
            try:
                self.report(f"saved {save(path)}")
            except SastLiveError as exc:
                QtWidgets.QMessageBox.warning(self.window, "Export", str(exc))

    def choose_png(self) -> None:
        self._save_figure("Dashboard as PNG", "sast-live.png", "PNG (*.png)",
                          lambda path: export.save_png(self.window, path))

    def choose_vector(self, name: str, widget) -> None:
        self._save_figure(f"The {name} as a figure", f"sast-live-{name.split()[0].lower()}.svg",
                          "SVG (*.svg);;PDF (*.pdf)", lambda path: export.save_vector(widget, path))

    # -- a time range of a recording ------------------------------------------------------------------------
    def choose_range(self) -> None:
        """Ask for a stretch of the recording (seconds from its start) and what to write, then :meth:`start_range`."""
        span = self.window.dashboard.timeline.span
        if span is None or not self.session.can_seek:
            QtWidgets.QMessageBox.information(self.window, "Export a time range", "open a recording first: a live "
                                              "stream has no time range to go back to")
            return
        length = (span[1] - span[0]) / 1e6
        dialog = QtWidgets.QDialog(self.window)
        dialog.setWindowTitle("Export a time range")
        form = QtWidgets.QFormLayout(dialog)
        start, end = QtWidgets.QDoubleSpinBox(), QtWidgets.QDoubleSpinBox()
        for box, value in ((start, 0.0), (end, length)):
            box.setRange(0.0, length)
            box.setDecimals(2)
            box.setSuffix(" s")
            box.setValue(value)
        kind = QtWidgets.QComboBox()
        kind.addItems(["per-bin CSV", "video MP4"])
        form.addRow("from", start)
        form.addRow("to", end)
        form.addRow("write", kind)
        buttons = QtWidgets.QDialogButtonBox(QtWidgets.QDialogButtonBox.StandardButton.Ok
                                             | QtWidgets.QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(dialog.accept)
        buttons.rejected.connect(dialog.reject)
        form.addRow(buttons)
        if dialog.exec() != QtWidgets.QDialog.DialogCode.Accepted:
            return
        csv_kind = kind.currentIndex() == 0
        path, _ = QtWidgets.QFileDialog.getSaveFileName(
            self.window, "Export a time range", "sast-live-range.csv" if csv_kind else "sast-live-range.mp4",
            "CSV (*.csv)" if csv_kind else "MP4 (*.mp4)")
        if path:
            try:
                self.start_range("csv" if csv_kind else "video", path, start.value(), end.value())
            except SastLiveError as exc:
                QtWidgets.QMessageBox.warning(self.window, "Export a time range", str(exc))

    def start_range(self, kind: str, path: str, start_s: float, end_s: float) -> None:
        """Replay ``start_s``–``end_s`` (seconds from the recording's start) into a per-bin CSV (``kind`` "csv") or
        a video ("video"): the recording is sought to the start and played; the export stops at the end
        (:meth:`range_tick`, each frame)."""
        span = self.window.dashboard.timeline.span
        if span is None or not self.session.can_seek:
            raise SastLiveError("a time range needs a recording (a file source)")
        if not 0 <= start_s < end_s or span[0] + end_s * 1e6 > span[1] + 1:
            raise SastLiveError(f"{start_s:g}–{end_s:g} s is not a range inside the recording's "
                                f"{(span[1] - span[0]) / 1e6:.2f} s")
        if kind not in ("csv", "video"):
            raise SastLiveError(f"a time range is written as a csv or a video, not {kind!r}")
        if self.bin_csv is not None or self.video is not None:
            raise SastLiveError("an export is under way: stop it first (Export menu)")
        start, end, source = span[0] + int(start_s * 1e6), span[0] + int(end_s * 1e6), self.session.source
        (self.start_csv if kind == "csv" else self.start_video)(path)
        # checked while it runs: unchecking it stops it early, as for any export
        set_quietly(self.export_csv if kind == "csv" else self.export_video, True)
        self.range = export.RangeExport(start, end, kind, source, source.seeks + 1)
        if kind == "csv":
            self.bin_csv.range = self.range
        if self.session.paused:
            self.window.controls.play.setChecked(False)
        self.session.seek(start)
        self.report(f"exporting {start_s:.2f}–{end_s:.2f} s to {path}")

    def range_tick(self, t_us: int) -> None:
        """Each frame, with the stream time it shows: a range export that has reached its end stops (and so does
        the replay); one whose recording was closed stops with what was replayed."""
        if self.range is None:
            return
        if self.session.source is not self.range.source:  # another source was opened: the range cannot end
            self._end_range()
            self.report("the recording was closed before the range ended: the export holds what was replayed")
            return
        pos = self.range.position(t_us)
        if pos is not None and pos >= self.range.end_us:
            self._end_range()
            self.window.controls.play.setChecked(True)

    def _end_range(self) -> None:
        """The range export under way is finished and its menu item unchecked."""
        kind, self.range = self.range.kind, None
        if kind == "csv":
            set_quietly(self.export_csv)
            self.stop_csv()
        else:
            self.stop_video()  # which unchecks its item

    # -- per-bin CSV ------------------------------------------------------------------------------------------
    def start_csv(self, path: str) -> None:
        """Write a row per bin to ``path`` from now until :meth:`stop_csv`."""
        b, source = self.session.backend, self.session.source
        file_time = getattr(source, "file_time", None)
        self.bin_csv = export.BinCsv(path, b.classes, len(b.layer_sizes), file_time,
                                     os.path.basename(self.session.spec or "") if file_time else "",
                                     self.window.dashboard.timeline.truth if file_time else ())
        self.session.set_bin_sink(self.bin_csv)
        self.report(f"writing a row per bin to {path}")

    def stop_csv(self) -> None:
        if self.range is not None and self.range.kind == "csv":  # stopped by hand before the range's end
            self.range = None
        sink, self.bin_csv = self.bin_csv, None
        if sink is not None:
            self.session.set_bin_sink(None)
            self.report(f"wrote {sink.close():,} bins to {sink.path}")

    def toggle_csv(self, on: bool) -> None:
        if on:
            self.ask_and_start(self.export_csv, "Per-bin CSV", "sast-live-bins.csv", "CSV (*.csv)", self.start_csv)
        else:
            self.stop_csv()

    # -- video ------------------------------------------------------------------------------------------------
    def set_video_speed(self, speed: float) -> None:
        """The next video's clock: ``speed`` seconds of recording per second of video."""
        self.video_speed = float(speed)

    def start_video(self, path: str) -> None:
        """Record the window to an MP4 from now until :meth:`stop_video` (or the replay ends), on the recording's
        clock at :attr:`video_speed`."""
        self.video = export.VideoWriter(path, fps=self.video_fps, speed=self.video_speed)
        self.report(f"recording the window to {path} ({self.video_speed:g}× the recording)")

    def add_frame(self, t_us: int, finished: bool) -> None:
        """The window as it was just drawn, showing stream time ``t_us``, into the video under way; a replay that
        ``finished`` ends it."""
        if self.video is None:
            return
        if self.range is not None:  # a range: only frames from its start on, once the seek there was taken
            pos = self.range.position(t_us)
            if pos is None or pos < self.range.start_us:
                return
        self.video.add(export.grab_rgb(self.window), t_us / 1e6)
        if finished:
            self.stop_video()

    def stop_video(self) -> None:
        if self.range is not None and self.range.kind == "video":
            self.range = None
        video, self.video = self.video, None
        if video is None:
            return
        set_quietly(self.export_video)
        try:
            n = video.close()
            self.report(f"wrote {n} frames to {video.path}" + (f" ({video.dropped} dropped)" if video.dropped else ""))
        except SastLiveError as exc:
            QtWidgets.QMessageBox.warning(self.window, "Export", str(exc))

    def toggle_video(self, on: bool) -> None:
        if on:
            self.ask_and_start(self.export_video, "Video of the window", "sast-live.mp4", "MP4 (*.mp4)",
                               self.start_video)
        else:
            self.stop_video()
