"""The Export menu (Ctrl+E): a PNG of the dashboard, a per-bin CSV of the stream, an MP4 of the window
(the writers are :mod:`sast_live.gui.export`)."""

from __future__ import annotations

from PyQt6 import QtWidgets

from sast_live.errors import SastLiveError
from sast_live.gui import export


def uncheck(action) -> None:
    """Uncheck a checkable action or button without running what its toggle does."""
    action.blockSignals(True)
    action.setChecked(False)
    action.blockSignals(False)


class ExportMenu(QtWidgets.QMenu):
    """Its items start and stop the exports; ``report(text)`` tells the user how it went (the status bar).

    Attributes:
        bin_csv: the per-bin CSV being written, or None; video: the MP4 being recorded, or None.
    """

    def __init__(self, window: QtWidgets.QMainWindow, session, report, video_fps: float):
        super().__init__("Export", window)
        self.window, self.session, self.report, self.video_fps = window, session, report, video_fps
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
        uncheck(action)

    def choose_png(self) -> None:
        path, _ = QtWidgets.QFileDialog.getSaveFileName(self.window, "Dashboard as PNG", "sast-live.png",
                                                        "PNG (*.png)")
        if path:
            try:
                self.report(f"saved {export.save_png(self.window, path)}")
            except SastLiveError as exc:
                QtWidgets.QMessageBox.warning(self.window, "Export", str(exc))

    # -- per-bin CSV ------------------------------------------------------------------------------------------
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
            self.ask_and_start(self.export_csv, "Per-bin CSV", "sast-live-bins.csv", "CSV (*.csv)", self.start_csv)
        else:
            self.stop_csv()

    # -- video ------------------------------------------------------------------------------------------------
    def start_video(self, path: str) -> None:
        """Record the window to an MP4 from now until :meth:`stop_video` (or the replay ends)."""
        self.video = export.VideoWriter(path, fps=self.video_fps)
        self.report(f"recording the window to {path}")

    def add_frame(self, finished: bool) -> None:
        """The window as it was just drawn, into the video under way; a replay that ``finished`` ends it."""
        if self.video is None:
            return
        self.video.add(export.grab_rgb(self.window))
        if finished:
            self.stop_video()

    def stop_video(self) -> None:
        video, self.video = self.video, None
        if video is None:
            return
        uncheck(self.export_video)
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
