"""What the window exports: a PNG of the dashboard, a per-bin CSV of the stream, and an MP4 of the window on the
recording's clock.

The CSV is written on the pipeline's worker thread, a row per bin (:class:`sast_live.pipeline.pipeline.BinRow`);
the video takes a grab of the window each frame and encodes it on a helper thread with the ffmpeg that the
``imageio-ffmpeg`` wheel carries (no system binary).
"""

from __future__ import annotations

import csv
import queue
import threading
from pathlib import Path
from typing import NamedTuple

import numpy as np

from sast_live.errors import SastLiveError


def save_png(widget, path: str | Path) -> Path:
    """The widget as it is on screen, as a PNG."""
    path = Path(path)
    if not widget.grab().save(str(path), "PNG"):
        raise SastLiveError(f"could not write {path}")
    return path


VECTOR_FORMATS = (".svg", ".pdf")


def save_vector(widget, path: str | Path) -> Path:
    """The widget drawn into an SVG or a PDF (by the suffix): plots, text and bars as vectors (a figure for a paper
    scales), images (the event view, the raster) embedded as pixels."""
    from PyQt6 import QtCore, QtGui, QtSvg

    path = Path(path)
    size = widget.size()
    if path.suffix.lower() == ".svg":
        device = QtSvg.QSvgGenerator()
        device.setFileName(str(path))
        device.setSize(size)
        device.setViewBox(QtCore.QRect(0, 0, size.width(), size.height()))
        device.setTitle(f"SAST-Live: {widget.objectName() or type(widget).__name__}")
    elif path.suffix.lower() == ".pdf":
        device = QtGui.QPdfWriter(str(path))
        device.setResolution(96)  # one widget pixel a 1/96 inch: the page is the panel's size
        device.setPageSize(QtGui.QPageSize(QtCore.QSizeF(size.width() * 72 / 96, size.height() * 72 / 96),
                                           QtGui.QPageSize.Unit.Point))
        device.setPageMargins(QtCore.QMarginsF(0, 0, 0, 0))
    else:
        raise SastLiveError(f"{path.name}: a figure is written as {' or '.join(VECTOR_FORMATS)}")
    try:  # a folder that cannot be written is said here, not by an empty file
        with open(path, "ab"):
            pass
    except OSError as exc:
        raise SastLiveError(f"cannot write {path}: {exc.strerror or exc}") from None
    painter = QtGui.QPainter()
    if not painter.begin(device):
        raise SastLiveError(f"could not write {path}")
    try:
        widget.render(painter)
    finally:
        painter.end()
    return path


class RangeExport(NamedTuple):
    """A stretch of a recording being exported: file time ``start_us``–``end_us`` as ``kind`` ("csv" or "video"),
    from ``source`` once it has taken its seek number ``seeks`` (the jump to the start)."""

    start_us: int
    end_us: int
    kind: str
    source: object
    seeks: int

    def position(self, t_us: int) -> int | None:
        """File time of stream time ``t_us``, or None while the stream still shows what came before the jump to
        the range's start."""
        if self.source.seeks < self.seeks or t_us <= self.source.jumped_at_us:
            return None
        return self.source.file_time(t_us)


class BinCsv:
    """A row per bin from the moment it is attached to a pipeline (:meth:`sast_live.session.Session.set_bin_sink`)
    until :meth:`close`: ``t_s`` (stream time), ``t_file_s`` and ``file`` (where in which recording, for a file
    source; the stream runs on across seeks and loops, the file time does not), ``events``, ``dropped``,
    ``synops_in``, ``synops_L1…``, ``score_<class>…`` (the readout), ``conf_<class>…`` (the latest window's
    calibrated confidences), ``decided`` (what the app said then), ``truth`` (from the recording's labels:
    the labelled class, or no_gesture between labels; empty without labels).

    ``file_time``: output time (µs) → file time (µs), or None; ``truth``: ``[(class, start_us, end_us), …]`` in
    file time.
    """

    def __init__(self, path: str | Path, classes, n_layers: int, file_time=None, file_name: str = "",
                 truth=()):
        self.path = Path(path)
        self.classes, self.file_time, self.file_name = tuple(classes), file_time, file_name
        self.truth = sorted(truth, key=lambda row: row[1])
        self._fh = open(self.path, "w", newline="")
        self._writer = csv.writer(self._fh)
        self._writer.writerow(["t_s", "t_file_s", "file", "events", "dropped", "synops_in",
                               *[f"synops_L{i + 1}" for i in range(n_layers)], *[f"score_{c}" for c in classes],
                               *[f"conf_{c}" for c in classes], "decided", "truth"])
        self.rows = 0
        self._lock = threading.Lock()
        self.n_scores = len(classes)
        #: a range export: only the bins that end inside it, once its seek was taken
        self.range: RangeExport | None = None

    def truth_at(self, t_file_us: int | None) -> str:
        """The labelled class at file time ``t_file_us`` (no_gesture between labels; "" without labels)."""
        if not self.truth or t_file_us is None:
            return ""
        for k, a, b in self.truth:
            if a <= t_file_us < b:
                return self.classes[k]
        return "no_gesture"

    def __call__(self, row) -> None:  # on the worker thread
        with self._lock:
            if self._fh is None:
                return
            scores = list(row.scores) or [""] * self.n_scores
            confs = [f"{c:.6f}" for c in row.confidences] or [""] * self.n_scores
            t_file = None if self.file_time is None else self.file_time(row.t_end_us)
            if self.range is not None:
                pos = self.range.position(row.t_end_us)
                if pos is None or not self.range.start_us < pos <= self.range.end_us:
                    return  # a bin from before the seek to the range's start, or outside the range
            self._writer.writerow([f"{row.t_end_us / 1e6:.6f}", "" if t_file is None else f"{t_file / 1e6:.6f}",
                                   self.file_name, row.events, int(row.dropped), *row.layer_synops, *scores, *confs,
                                   row.said, self.truth_at(t_file)])
            self.rows += 1

    def close(self) -> int:
        with self._lock:
            if self._fh is not None:
                self._fh.close()
                self._fh = None
        return self.rows


#: a video fills a gap in its frames (a stall, a paused live camera) with at most this many seconds of the last one
MAX_HOLD_S = 60.0


class VideoWriter:
    """Frames (H, W, 3) uint8, each with the stream time it shows, → an H.264 MP4 at a constant ``fps`` whose clock
    is the recording's: one second of video is ``speed`` seconds of stream (1: as recorded, whatever the replay
    speed or the window's frame rate). Each output frame shows the frame that was on screen at its time (frames
    repeat where the window drew fewer, and are skipped where it drew more); encoded on a helper thread,
    :meth:`close` finishes the file. A frame whose size differs from the first is padded or cropped to it."""

    def __init__(self, path: str | Path, fps: float = 30.0, speed: float = 1.0):
        try:
            import imageio_ffmpeg
        except ImportError as exc:
            raise SastLiveError("video export needs the imageio-ffmpeg package (pip install imageio-ffmpeg)") from exc
        if not (fps > 0 and speed > 0):
            raise SastLiveError(f"a video needs a positive frame rate and speed, got {fps} fps at {speed}×")
        self.path, self.fps, self.speed, self.frames = Path(path), float(fps), float(speed), 0
        try:  # a path that cannot be written is said now, not when the recording stops (ffmpeg's "Broken pipe")
            with open(self.path, "wb"):
                pass
        except OSError as exc:
            raise SastLiveError(f"cannot write the video to {self.path}: {exc.strerror or exc}") from None
        self._ffmpeg = imageio_ffmpeg
        self._queue: queue.Queue = queue.Queue(maxsize=120)
        self._size: tuple[int, int] | None = None
        self._thread: threading.Thread | None = None
        self.error: str | None = None
        self.dropped = 0

    def add(self, frame: np.ndarray, t_s: float) -> None:
        """Queue one frame showing stream time ``t_s`` (s; non-decreasing). Dropped, and counted, if the encoder
        is more than 120 frames behind."""
        if self._thread is None:
            h, w = frame.shape[:2]
            self._size = (w - w % 2, h - h % 2)  # H.264 wants even sizes
            self._thread = threading.Thread(target=self._encode, name="sast-video", daemon=True)
            self._thread.start()
        try:
            self._queue.put_nowait((frame, float(t_s)))
        except queue.Full:
            self.dropped += 1

    def _encode(self) -> None:
        w, h = self._size
        writer = self._ffmpeg.write_frames(str(self.path), (w, h), fps=self.fps, codec="libx264", pix_fmt_out="yuv420p",
                                           macro_block_size=1, quality=7)

        def send(frame):
            if frame.shape[0] < h or frame.shape[1] < w:
                frame = np.pad(frame, ((0, max(0, h - frame.shape[0])), (0, max(0, w - frame.shape[1])), (0, 0)))
            writer.send(np.ascontiguousarray(frame[:h, :w]))
            self.frames += 1

        step = self.speed / self.fps  # stream seconds per output frame
        held, t0 = None, 0.0
        try:
            writer.send(None)
            while (item := self._queue.get()) is not None:
                frame, t = item
                if held is None:
                    held, t0 = frame, t
                    continue
                # output frame k shows stream time t0 + k·step: the held frame was on screen until t
                repeats = 0
                while t0 + self.frames * step < t and repeats < MAX_HOLD_S * self.fps:
                    send(held)
                    repeats += 1
                if repeats >= MAX_HOLD_S * self.fps:  # a gap longer than that: the clock skips it
                    t0 = t - self.frames * step
                held = frame
            if held is not None:
                send(held)
        except Exception as exc:  # noqa: BLE001 - reported by close(), the window goes on
            self.error = f"{type(exc).__name__}: {exc}"
            while self._queue.get() is not None:
                pass
        finally:
            writer.close()

    def close(self) -> int:
        """Finish the file; returns the frames written."""
        if self._thread is not None:
            self._queue.put(None)
            self._thread.join()
        if self.error:
            raise SastLiveError(f"video export to {self.path} failed: {self.error}")
        return self.frames


def grab_rgb(widget) -> np.ndarray:
    """The widget on screen as (H, W, 3) uint8."""
    from PyQt6 import QtGui

    image = widget.grab().toImage().convertToFormat(QtGui.QImage.Format.Format_RGB888)
    w, h, stride = image.width(), image.height(), image.bytesPerLine()
    buf = np.frombuffer(image.constBits().asstring(stride * h), np.uint8).reshape(h, stride)
    return buf[:, :w * 3].reshape(h, w, 3).copy()
