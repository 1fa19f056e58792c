"""What the window exports: a PNG of the dashboard, a per-bin CSV of the stream, and an MP4 of the window.

The CSV is written on the pipeline's worker thread, a row per bin (:class:`sast_live.pipeline.pipeline.BinRow`);
the video takes a grab of the window each frame and encodes it on a helper thread with the ffmpeg that the
``imageio-ffmpeg`` wheel carries (no system binary).
"""

from __future__ import annotations

import csv
import queue
import threading
from pathlib import Path

import numpy as np

from sast_live.errors import SastLiveError


def save_png(widget, path: str | Path) -> Path:
    """The widget as it is on screen, as a PNG."""
    path = Path(path)
    if not widget.grab().save(str(path), "PNG"):
        raise SastLiveError(f"could not write {path}")
    return path


class BinCsv:
    """Rows ``t_s, events, dropped, synops_in, synops_L1…, score_<class>…, said`` from the moment it is attached
    to a pipeline (:meth:`sast_live.session.Session.set_bin_sink`) until :meth:`close`."""

    def __init__(self, path: str | Path, classes, n_layers: int):
        self.path = Path(path)
        self._fh = open(self.path, "w", newline="")
        self._writer = csv.writer(self._fh)
        self._writer.writerow(["t_s", "events", "dropped", "synops_in", *[f"synops_L{i + 1}" for i in range(n_layers)],
                               *[f"score_{c}" for c in classes], "said"])
        self.rows = 0
        self._lock = threading.Lock()
        self.n_scores = len(classes)

    def __call__(self, row) -> None:  # on the worker thread
        with self._lock:
            if self._fh is None:
                return
            scores = list(row.scores) or [""] * self.n_scores
            self._writer.writerow([f"{row.t_end_us / 1e6:.6f}", row.events, int(row.dropped), *row.layer_synops,
                                   *scores, row.said])
            self.rows += 1

    def close(self) -> int:
        with self._lock:
            if self._fh is not None:
                self._fh.close()
                self._fh = None
        return self.rows


class VideoWriter:
    """Frames (H, W, 3) uint8 → an H.264 MP4 at ``fps``, encoded on a helper thread; :meth:`close` finishes the
    file. A frame whose size differs from the first is padded or cropped to it (a resized window)."""

    def __init__(self, path: str | Path, fps: float = 30.0):
        try:
            import imageio_ffmpeg
        except ImportError as exc:
            raise SastLiveError("video export needs the imageio-ffmpeg package (pip install imageio-ffmpeg)") from exc
        self.path, self.fps, self.frames = Path(path), float(fps), 0
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

    def add(self, frame: np.ndarray) -> None:
        """Queue one frame (dropped, and counted, if the encoder is more than 4 s behind)."""
        if self._thread is None:
            h, w = frame.shape[:2]
            self._size = (w - w % 2, h - h % 2)  # H.264 wants even sizes
            self._thread = threading.Thread(target=self._encode, name="sast-video", daemon=True)
            self._thread.start()
        try:
            self._queue.put_nowait(frame)
        except queue.Full:
            self.dropped += 1

    def _encode(self) -> None:
        w, h = self._size
        writer = self._ffmpeg.write_frames(str(self.path), (w, h), fps=self.fps, codec="libx264", pix_fmt_out="yuv420p",
                                           macro_block_size=1, quality=7)
        try:
            writer.send(None)
            while (frame := self._queue.get()) is not None:
                if frame.shape[0] < h or frame.shape[1] < w:
                    frame = np.pad(frame, ((0, max(0, h - frame.shape[0])), (0, max(0, w - frame.shape[1])), (0, 0)))
                writer.send(np.ascontiguousarray(frame[:h, :w]))
                self.frames += 1
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
