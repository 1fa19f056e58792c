"""The timeline under the event view (file sources): where the replay is, a scrubber, ±1 bin steps while paused,
and a strip of what the app said per window (top row) beside the ground truth from an IBM-style
``<name>_labels.csv`` next to the recording (bottom row). A click or drag on the strip seeks there."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import numpy as np
import pyqtgraph as pg
from PyQt6 import QtCore, QtWidgets

from models.decision import verdict_name
from sast_live.errors import SastLiveError
from sast_live.gui.palette import class_colour
from sast_live.gui.views import ElidedLabel
from sast_live.scoring import render_score, score_line, score_so_far

NOTHING = -9  # a strip column with nothing painted (no window ended there, or no label)
STRIP_US = 25_000  # one strip column per 25 ms of file time …
MAX_COLUMNS = 20_000  # … or coarser for recordings longer than 8 min (the strip is redrawn at each window)


class FileTimeAxis(pg.AxisItem):
    """A time axis in seconds from the file's start: the plot works in the stream's own seconds (what seeks and
    windows use), and many recordings stamp time since an epoch (an AEDAT4 file starts at 1.6e9 s), which read as
    "1.6055374940 (×1e+09)" instead of "0.3"."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.origin_s = 0.0
        self.enableAutoSIPrefix(False)  # a prefix chosen from the stream's epoch, not from the seconds shown

    def tickValues(self, minVal, maxVal, size):
        o = self.origin_s  # round ticks of the file's own seconds, placed in the stream's
        return [(spacing, [v + o for v in values])
                for spacing, values in super().tickValues(minVal - o, maxVal - o, size)]

    def tickStrings(self, values, scale, spacing):
        return super().tickStrings([v - self.origin_s for v in values], scale, spacing)


class Timeline(QtWidgets.QWidget):
    #: (path, (t_first, t_last) µs, ground truth rows, why there is none or None) of a file, found on a helper thread
    spanned = QtCore.pyqtSignal(object)

    def __init__(self, session, parent=None):
        super().__init__(parent)
        self.session = session
        self.strip_us = STRIP_US
        self._seeks = session.seek_count
        self._scored_at = 0.0
        layout = QtWidgets.QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.axis = FileTimeAxis("bottom")
        self.plot = pg.PlotWidget(axisItems={"bottom": self.axis})
        self.plot.setFixedHeight(72)
        self.plot.setMouseEnabled(False, False)
        self.plot.hideButtons()
        self.plot.getAxis("left").setTicks([[(0.5, "truth"), (1.5, "said")]])
        self.plot.setLabel("bottom", "s from the file's start")
        self.strip = pg.ImageItem(axisOrder="row-major")
        self.plot.addItem(self.strip)
        self.cursor = pg.InfiniteLine(pos=0, angle=90, movable=True, pen=pg.mkPen("#ffffff", width=2))
        self.cursor.sigPositionChangeFinished.connect(lambda line: self.seek_to(line.value()))
        self.plot.addItem(self.cursor)
        self.plot.scene().sigMouseClicked.connect(self._clicked)
        row = QtWidgets.QHBoxLayout()
        self.back = QtWidgets.QPushButton("◀ bin")
        self.back.setToolTip("one bin back (paused; ←)")
        self.back.clicked.connect(lambda: self.session.step(-1))
        self.forward = QtWidgets.QPushButton("bin ▶")
        self.forward.setToolTip("one bin forward (paused; →)")
        self.forward.clicked.connect(lambda: self.session.step(1))
        self.where = ElidedLabel("")
        self.where.setStyleSheet("font-family: monospace;")
        row.addWidget(self.back)
        row.addWidget(self.forward)
        row.addWidget(self.where, 1)
        self.score = ElidedLabel("")  # with a labels file: how right the app has been so far (scoring.score_so_far)
        row.addWidget(self.score, 3)
        self.plot.scene().sigMouseMoved.connect(self._hovered)
        self.legend = QtWidgets.QLabel("")  # the classes on the strip, each with its colour
        self.legend.setWordWrap(True)
        self.legend.setSizePolicy(QtWidgets.QSizePolicy.Policy.Ignored, QtWidgets.QSizePolicy.Policy.Preferred)
        layout.addWidget(self.plot)
        layout.addWidget(self.legend)
        layout.addLayout(row)
        self.spanned.connect(self._set_span)
        self._forget(None)

    def _forget(self, spec: str | None) -> None:
        """Nothing of the last file: its span, truth, strip bookkeeping, legend and score (``spec``: the one now)."""
        self._spec = spec
        self.span: tuple[int, int] | None = None
        self.truth: list[tuple[int, int, int]] = []
        self.truth_problem: str | None = None  # why a labels file beside the recording gave no ground truth
        self._seen = 0
        self._last_end: int | None = None
        self._legend_classes: set[int] = set()
        self._score_from = 0  # windows_logged when the windows the score counts began (the open, the last seek)
        #: the latest scored labelled gesture's latency in words (None: no labels, or none scored yet)
        self.labelled_latency: str | None = None
        self.legend.setText("")
        self.score.setText("")

    # -- a new source ---------------------------------------------------------------------------------------
    def follow(self) -> None:
        """Called each frame: set up for a newly opened file source; hidden for anything else."""
        spec = self.session.spec
        if spec == self._spec and self.session.source is not None:
            return
        self._forget(spec)
        if not self.session.can_seek:
            self.hide()
            return
        self.show()
        self.strip.clear()
        path = Path(spec)
        threading.Thread(target=self._scan, args=(path, len(self.session.backend.classes)),
                         name="sast-timeline-scan", daemon=True).start()

    def _scan(self, path: Path, n_classes: int) -> None:
        """On a helper thread: the file's time span, and its ``_labels.csv`` beside it if there is one (a large or
        broken labels file never holds up the window)."""
        from sast_live.formats.dvs_gesture import labels_path_for, read_gesture_labels
        from sast_live.formats.registry import file_info

        truth, problem = [], None
        labels = labels_path_for(path)
        if labels.is_file():
            try:
                truth = read_gesture_labels(labels, n_classes=n_classes)
            except (SastLiveError, OSError) as exc:  # no ground truth then; the replay goes on, and says why
                problem = str(exc)
        try:
            info = file_info(path)
        except (SastLiveError, OSError):
            return
        if info["t_first"] is not None:
            try:
                self.spanned.emit((str(path), (info["t_first"], info["t_last"]), truth, problem))
            except RuntimeError:  # the window was closed (its widgets deleted) while the file was read
                return

    def _set_span(self, found) -> None:
        path, (t0, t1), truth, problem = found
        if self._spec is None or path != str(Path(self._spec)):  # another file was opened while this was read
            return
        self.truth, self.truth_problem = truth, problem
        self.plot.getAxis("left").setTicks([[(0.5, "truth ⚠" if problem else "truth"), (1.5, "said")]])
        self.plot.setToolTip(f"no ground truth: {problem}" if problem else "")
        self.span = (int(t0), int(t1))
        self.strip_us = max(STRIP_US, -(-(self.span[1] - self.span[0]) // MAX_COLUMNS))
        n = max(1, (self.span[1] - self.span[0]) // self.strip_us + 1)
        self.image = np.zeros((2, n, 3), np.uint8)
        self.classes_at = np.full((2, n), NOTHING, np.int16)  # what each column shows: truth (0) and said (1)
        for k, a, b in self.truth:
            self._paint(0, self._col(a), self._col(b) + 1, k)
        self._seen = 0
        self.axis.origin_s = t0 / 1e6
        self.plot.setXRange(t0 / 1e6, t1 / 1e6, padding=0.01)
        self.plot.setYRange(0, 2, padding=0)
        self._draw()

    def _paint(self, row: int, a: int, b: int | None, k: int) -> None:
        """Columns ``a:b`` of ``row`` (0 truth, 1 said) show class ``k`` (−1 no gesture, −2 unfamiliar scene,
        NOTHING: cleared); the legend follows."""
        self.image[row, a:b] = 0 if k == NOTHING else class_colour(k)
        self.classes_at[row, a:b] = k
        if k != NOTHING and k not in self._legend_classes:
            self._legend_classes.add(k)
            self._update_legend()

    def _name(self, k: int) -> str:
        return verdict_name(k, self.session.backend.classes).replace("_", " ") if k >= -2 else "—"

    def _update_legend(self) -> None:
        """A swatch and a name for each class the strip shows (a legend of all twelve would take three lines)."""
        items = []
        for k in sorted(self._legend_classes, key=lambda k: (k < 0, k)):
            r, g, b = class_colour(k)
            items.append(f'<span style="color: rgb({r},{g},{b});">■</span>&nbsp;{self._name(k)}')
        self.legend.setText("&nbsp;&nbsp; ".join(items))

    def _update_score(self, every_s: float = 1.0) -> None:
        """The score line (at most once a second: it goes through every window since the open or the last seek)."""
        now = time.monotonic()
        if not self.truth or now - self._scored_at < every_s:
            return
        self._scored_at = now
        n = min(self.session.windows_logged - self._score_from, len(self.session.window_log))
        windows = list(self.session.window_log)[-n:] if n > 0 else []
        since = self.session.last_seek_us if self._score_from else self.span[0]  # the open or the last seek
        score = score_so_far(windows, self.truth, self.session.backend.classes, since)
        if score is None:
            self.score.setText("score: after the first labelled gesture")
            return
        self.score.setText(f"score so far: {score_line(score)}")
        self.score.set_tip(render_score(score))
        last = score["gestures"][-1]
        name = last["name"].replace("_", " ")
        self.labelled_latency = (f"{last['latency_s'] * 1e3:,.0f} ms from the labelled start of {name}"
                                 if last["latency_s"] is not None else f"{name}: never named twice in a row")

    def describe_at(self, seconds: float) -> str:
        """What the strip shows at ``seconds`` of file time, in words (its tooltip)."""
        if self.span is None:
            return ""
        col = self._col(int(seconds * 1e6))
        return (f"{(seconds * 1e6 - self.span[0]) / 1e6:.2f} s · said: {self._name(int(self.classes_at[1, col]))}"
                f" · truth: {self._name(int(self.classes_at[0, col])) if self.truth else 'no labels'}")

    def _hovered(self, pos) -> None:
        if self.span is not None and self.truth_problem is None:
            self.plot.setToolTip(self.describe_at(self.plot.getPlotItem().vb.mapSceneToView(pos).x()))

    def _col(self, t_us: int) -> int:
        return int(np.clip((t_us - self.span[0]) // self.strip_us, 0, self.image.shape[1] - 1))

    def _draw(self) -> None:
        t0, t1 = self.span
        self.strip.setImage(self.image, autoLevels=False, levels=(0, 255))
        self.strip.setRect(QtCore.QRectF(t0 / 1e6, 0, (self.image.shape[1] * self.strip_us) / 1e6, 2))

    # -- each frame -------------------------------------------------------------------------------------------
    def update_view(self) -> None:
        self.follow()
        if self.span is None or not self.isVisible():
            return
        log, count = self.session.window_log, self.session.windows_logged
        if count < self._seen:  # the same file opened again: a new log
            self._seen, self._last_end, self._score_from = 0, None, 0
        if self.session.seek_count != self._seeks:  # what was said from there on is said again, from fresh state
            self._seeks = self.session.seek_count
            self._score_from = self.session.windows_logged  # the score starts over with the windows from there
            self.labelled_latency = None
            self._paint(1, self._col(self.session.last_seek_us), None, NOTHING)
            self._last_end = None
            self._draw()
        new = min(count - self._seen, len(log))
        if new > 0:
            for w in (log[-i] for i in range(new, 0, -1)):
                a, b, k = w.t_start_us, w.t_end_us, w.class_index
                # streaming windows overlap: each paints what is new since the one before (all of it after a seek)
                start = self._last_end if self._last_end is not None and a < self._last_end <= b else a
                self._paint(1, self._col(start), self._col(b) + 1, k)
                self._last_end = b
            self._seen = count
            self._draw()
            self._update_score()
        pos = getattr(self.session.source, "position_us", None)
        # the cursor moves when it would move a pixel (every move repaints the strip and its axis)
        px = (self.span[1] - self.span[0]) / max(self.plot.width(), 1)
        if pos is not None and not self.cursor.moving and abs(pos / 1e6 - self.cursor.value()) * 1e6 >= px:
            self.cursor.setValue(pos / 1e6)
            self.where.setText(f"{(pos - self.span[0]) / 1e6:7.2f} / {(self.span[1] - self.span[0]) / 1e6:.2f} s"
                               + ("   paused: ←/→ step a bin" if self.session.paused else ""))

    # -- seeking ------------------------------------------------------------------------------------------------
    def seek_to(self, seconds: float) -> None:
        if self.span is not None and self.session.can_seek:
            self.session.seek(int(np.clip(seconds * 1e6, *self.span)))

    def _clicked(self, event) -> None:
        if self.span is None:
            return
        x = self.plot.getPlotItem().vb.mapSceneToView(event.scenePos()).x()
        self.seek_to(x)
