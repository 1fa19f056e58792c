"""Display panels. Each has ``update(snapshot)`` and only renders: no computation beyond colour mapping."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PyQt6 import QtCore, QtGui, QtWidgets

from sast_live.gui.palette import DEFAULT_SCHEME, lookup_table

ON_OFF_LEVELS = (-4, 4)  # net ON − OFF counts shown at full colour


def steady(label: QtWidgets.QLabel) -> QtWidgets.QLabel:
    """A label whose text changes every frame without asking the window for a new layout (a relayout repaints
    every panel: with the docks open that had cost frames)."""
    label.setSizePolicy(QtWidgets.QSizePolicy.Policy.Ignored, QtWidgets.QSizePolicy.Policy.Preferred)
    label.setMinimumWidth(80)
    return label


def nice_ceiling(value: float) -> float:
    """The smallest 1, 2 or 5 × 10^k at or above ``value`` (at least 1): an axis top that changes seldom."""
    value = max(float(value), 1.0)
    k = 10 ** np.floor(np.log10(value))
    return float(next(m * k for m in (1, 2, 5, 10) if m * k >= value))


def steady_top(current: float | None, peak: float) -> float:
    """The y-axis top for a trace whose maximum is ``peak``: kept while the peak fits and uses more than a fifth of
    it (an axis that re-ticks every frame costs a repaint of its labels), else the nice ceiling of the peak."""
    if current is not None and 0.2 * current <= peak <= current:
        return current
    return nice_ceiling(peak)


class EventView(pg.GraphicsLayoutWidget):
    """The snapshot's event image at sensor resolution (row-major, y down; made by the pipeline from the window
    and decay of the display bar) coloured by ``scheme`` (:data:`sast_live.gui.palette.SCHEMES`)."""

    def __init__(self):
        super().__init__()
        self.box = self.addViewBox(lockAspect=True, invertY=True, enableMouse=False)
        self.image = pg.ImageItem(axisOrder="row-major")
        self.set_scheme(DEFAULT_SCHEME)
        self.box.addItem(self.image)
        self.hot = pg.ScatterPlotItem(symbol="x", size=7, pen=pg.mkPen("#ff4040", width=1.5), brush=None)
        self.box.addItem(self.hot)  # the masked hot pixels
        self.roi: pg.RectROI | None = None  # the region of interest, while it is shown (it can be dragged)
        self.shown_mask = None
        self.setMinimumSize(240, 240)

    def show_mask(self, mask, sensor_size, changed=None) -> None:
        """Draw ``mask`` (a :class:`~sast_live.transforms.mask.PixelMask` or None): its hot pixels as red crosses,
        its region as a rectangle a user drags and resizes (``changed(roi)`` with the new ``(x0, y0, x1, y1)``)."""
        if mask is self.shown_mask and (mask is None or (mask.roi is None) == (self.roi is None)):
            return
        self.shown_mask = mask
        hot = np.asarray(mask.hot if mask is not None else (), np.float64).reshape(-1, 2) + 0.5
        self.hot.setData(x=hot[:, 0], y=hot[:, 1])
        roi = mask.roi if mask is not None else None
        if roi is None:
            if self.roi is not None:
                self.box.removeItem(self.roi)
                self.roi = None
            return
        x0, y0, x1, y1 = roi
        if self.roi is None:
            self.roi = pg.RectROI((x0, y0), (x1 - x0, y1 - y0), pen=pg.mkPen("#40ff80", width=2),
                                  maxBounds=QtCore.QRectF(0, 0, sensor_size.width, sensor_size.height),
                                  snapSize=1.0, translateSnap=True, scaleSnap=True)
            self.box.addItem(self.roi)
            if changed is not None:
                self.roi.sigRegionChangeFinished.connect(lambda r: changed(self.roi_rect()))
        else:
            self.roi.setPos((x0, y0), update=False, finish=False)
            self.roi.setSize((x1 - x0, y1 - y0), finish=False)

    def roi_rect(self) -> tuple[int, int, int, int] | None:
        """The drawn region as whole sensor pixels ``(x0, y0, x1, y1)`` (None when none is shown)."""
        if self.roi is None:
            return None
        (x, y), (w, h) = self.roi.pos(), self.roi.size()
        x0, y0 = int(round(x)), int(round(y))
        return x0, y0, x0 + max(1, int(round(w))), y0 + max(1, int(round(h)))

    def set_scheme(self, scheme: str) -> None:
        self.scheme = scheme
        self.image.setLookupTable(lookup_table(scheme))

    def update_view(self, snap) -> None:
        self.image.setImage(snap.frame, levels=ON_OFF_LEVELS, autoLevels=False)


class ElidedLabel(QtWidgets.QLabel):
    """A one-line label that never asks for more width than it gets: text that does not fit ends in "…" and the
    whole of it is the tooltip (a class name or a status field can be longer than its panel)."""

    def __init__(self, text: str = "", tip: str = ""):
        super().__init__()
        self._full, self._tip = "", tip
        steady(self)
        self.setText(text)

    def setText(self, text: str) -> None:  # noqa: N802 - Qt's name
        if text != self._full:
            self._full = text
            self._elide()

    def text(self) -> str:  # the whole text; what fits is :meth:`shown`
        return self._full

    def full_text(self) -> str:
        return self._full

    def shown(self) -> str:
        """The text as drawn: the whole, or its start and "…"."""
        return super().text()

    def set_tip(self, tip: str) -> None:
        if tip != self._tip:
            self._tip = tip
            self._elide()

    def is_elided(self) -> bool:
        return self.shown() != self._full

    def _elide(self) -> None:
        width = max(self.contentsRect().width(), 1)
        shown = self.fontMetrics().elidedText(self._full, QtCore.Qt.TextElideMode.ElideRight, width)
        super().setText(shown)
        tips = [t for t in (self._full if shown != self._full else "", self._tip) if t]
        self.setToolTip("\n\n".join(tips))

    def resizeEvent(self, event) -> None:  # noqa: N802 - Qt's name
        super().resizeEvent(event)
        self._elide()


HIGHLIGHT_BAR = "QProgressBar { text-align: center; } QProgressBar::chunk { background: #f0b400; }"


class PredictionPanel(QtWidgets.QGroupBox):
    """Every class with a confidence bar; what the app says — a gesture, "no gesture" or "unfamiliar scene" —
    in large type with the reason in words under it (:func:`models.decision.explain`), the decided class's bar
    highlighted (the named gesture, or for "no gesture" the model's own no_gesture class; none for an unfamiliar
    scene), and the model's decision rule as the tooltip."""

    def __init__(self, classes):
        super().__init__("Prediction")
        layout = QtWidgets.QGridLayout(self)
        layout.setVerticalSpacing(2)  # twelve and more classes fit a 720-pixel screen
        self.top = ElidedLabel("—")  # its text changes width every window: no relayout for it
        self.top.setStyleSheet("font-size: 20pt; font-weight: bold;")
        layout.addWidget(self.top, 0, 0, 1, 2)
        self.reason = ElidedLabel("")
        self.reason.setStyleSheet("color: #a0a0a8;")
        layout.addWidget(self.reason, 1, 0, 1, 2)
        self.labels, self.bars = [], []
        self.held: str | None = None  # said instead of an answer while the model is being taught
        self.set_classes(classes, layout)

    def hold(self, text: str | None) -> None:
        """Say ``text`` instead of an answer (while teaching holds the source: the last answer would be stale),
        or, None, go back to the answers."""
        self.held = text
        if text is not None:
            self.top.setText(text)
            self.reason.setText("the answers come back when the taught model runs")

    def set_classes(self, classes, layout=None) -> None:
        layout = layout or self.layout()
        for w in self.labels + self.bars:
            layout.removeWidget(w)
            w.deleteLater()
        self.labels, self.bars = [], []
        for i, name in enumerate(classes):
            label = QtWidgets.QLabel(name.replace("_", " "))
            # as wide as the name in bold: highlighting a class must not widen its column, which relaid the window
            # and resized (so fully redrew) every plot, 60–130 ms a time
            bold = label.font()
            bold.setBold(True)
            label.setMinimumWidth(QtGui.QFontMetrics(bold).horizontalAdvance(label.text()) + 4)
            bar = QtWidgets.QProgressBar()
            bar.setRange(0, 1000)
            bar.setTextVisible(True)
            bar.setMaximumHeight(bar.fontMetrics().height() + 4)
            layout.addWidget(label, i + 2, 0)
            layout.addWidget(bar, i + 2, 1)
            layout.setRowStretch(i + 2, 0)
            self.labels.append(label)
            self.bars.append(bar)
        layout.setRowStretch(len(classes) + 2, 1)  # room to spare goes under the bars, not between the rows
        self.classes = tuple(classes)
        self._highlight = -1

    def update_view(self, snap) -> None:
        if snap.classes != self.classes:
            self.set_classes(snap.classes)
        for bar, c in zip(self.bars, snap.smoothed, strict=True):
            bar.setValue(int(round(1000 * float(c))))
            bar.setFormat(f"{float(c):.0%}")  # rounded as the headline is (Qt's %p% truncates)
        why = snap.explanation
        if self.held is not None:
            why, k = None, -1
        else:
            k = why.highlight if why is not None else snap.verdict
        if k != self._highlight:
            for i, (label, bar) in enumerate(zip(self.labels, self.bars, strict=True)):
                label.setStyleSheet("font-weight: bold; color: #d08700;" if i == k else "")
                bar.setStyleSheet(HIGHLIGHT_BAR if i == k else "")
            self._highlight = k
        if self.held is not None:
            return
        if why is not None:
            self.top.setText(why.headline)
            self.reason.setText(why.reason)
            self.top.set_tip(snap.rule)
            self.reason.set_tip(snap.rule)
            self.setToolTip(snap.rule)
        elif snap.verdict < 0:
            self.top.setText(snap.verdict_name.replace("_", " "))
        else:
            self.top.setText(f"{snap.verdict_name.replace('_', ' ')}  {snap.smoothed[snap.verdict]:.0%}")


BARS_MIN_WIDTH = 420  # px: the spike panel's bars beside its raster need this much


class SpikePanel(pg.GraphicsLayoutWidget):
    """Spike activity per layer: a raster of the last bins (rows = layers, spikes per neuron) and, beside it, bars of
    the last bin (side by side: the panel stays readable at the 130 px a 720-px screen leaves it)."""

    def __init__(self):
        super().__init__()
        self.raster_plot = self.addPlot(title="spikes per neuron per bin")
        self.raster = pg.ImageItem(axisOrder="row-major")
        self.raster.setLookupTable(pg.colormap.get("viridis").getLookupTable(nPts=256))
        self.raster_plot.addItem(self.raster)
        self.raster_plot.setLabel("bottom", "bins ago")
        self.bar_plot = self.addPlot(title="last bin")
        self.bars = pg.BarGraphItem(x=[], height=[], width=0.6, brush="#4c9be8")
        self.bar_plot.addItem(self.bars)
        self.bar_plot.setMouseEnabled(False, False)
        self.ci.layout.setColumnStretchFactor(0, 2)
        self.ci.layout.setColumnStretchFactor(1, 1)
        self._bars_shown = True
        self._n_layers = None
        self._top: float | None = None
        self.setMinimumHeight(130)

    def resizeEvent(self, event) -> None:  # noqa: N802 - Qt's name
        """Narrower than :data:`BARS_MIN_WIDTH` the bars go (the raster's newest column shows the same): the two
        plots' axes would not fit and the scene would be cut at the panel's edge."""
        super().resizeEvent(event)
        show = self.width() >= BARS_MIN_WIDTH
        if hasattr(self, "_bars_shown") and show != self._bars_shown:  # (Qt resizes it once while it is built)
            if show:
                self.ci.addItem(self.bar_plot, row=0, col=1)
            else:
                self.ci.removeItem(self.bar_plot)
            self._bars_shown = show

    def _set_layers(self, n: int) -> None:
        """Whole-number layer ticks (L1 … Ln) on both plots; the bars' x range fixed to the layers."""
        ticks = [[(i, f"L{i + 1}") for i in range(n)]]
        self.raster_plot.getAxis("left").setTicks(ticks)
        self.bar_plot.getAxis("bottom").setTicks(ticks)
        self.bar_plot.setXRange(-0.5, n - 0.5, padding=0)
        self._n_layers = n

    def update_view(self, snap) -> None:
        act = np.asarray(snap.activity, np.float64)
        if len(act) == 0:
            return
        n = len(snap.layer_sizes)
        if n != self._n_layers:
            self._set_layers(n)
        rate = act / np.asarray(snap.layer_sizes, np.float64)  # (R, L) spikes per neuron
        gaps = snap.dropped_history
        if gaps is not None and len(gaps) == len(rate) and gaps.any():
            rate[gaps] = np.nan  # a dropped bin's spikes are unknown: a transparent column, not a quiet one
        self.raster.setImage(rate.T, levels=(0.0, max(0.05, float(np.nanmax(rate, initial=0.0)))), autoLevels=False)
        self.raster.setRect(QtCore.QRectF(-len(act), -0.5, len(act), n))
        self.bars.setOpts(x=np.arange(n), height=act[-1], width=0.6)
        # a bin without spikes still shows 0…1 spikes, not pyqtgraph's empty −100…100 auto range
        top = steady_top(self._top, float(act[-1].max()))
        if top != self._top:
            self.bar_plot.setYRange(0, top, padding=0.05)
            self._top = top


def compact_number(v: float) -> str:
    """A rate as a short tick label: 0, 950, 12k, 1.5M, 2G."""
    a = abs(v)
    for div, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if a >= div:
            return f"{v / div:.3g}{suffix}"
    return f"{v:.3g}"


class CompactAxis(pg.AxisItem):
    """A rate axis for a short plot: at most three labelled ticks (the major level, thinned), each as "12k" or
    "1.5M" — a 60-px plot of a rate up to 10⁷ had stacked six "1e+07"-style labels into one smudge."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.enableAutoSIPrefix(False)  # the labels carry their own k/M/G

    def tickValues(self, minVal, maxVal, size):
        levels = super().tickValues(minVal, maxVal, size)
        if not levels:
            return levels
        spacing, values = levels[0]
        while len(values) > 3:  # every other tick until three are left, the spacing doubling with them
            values, spacing = values[::2], spacing * 2
        return [(spacing, values)]

    def tickStrings(self, values, scale, spacing):
        return [compact_number(v * scale) for v in values]


class RatePlot(pg.PlotWidget):
    """One history trace (per bin) titled by its unit (a short title: no left-axis label, so two plots fit side by
    side in the 1280-px window with a dock open)."""

    def __init__(self, unit: str, colour: str):
        super().__init__(title=unit, axisItems={"left": CompactAxis("left")})
        self.curve = self.plot(pen=pg.mkPen(colour, width=2))
        self.setLabel("bottom", "s ago")
        self.setMinimumHeight(90)
        self.setMouseEnabled(False, False)
        self.getPlotItem().disableAutoRange()
        self._span: tuple[float, float] | None = None

    def set_history(self, age_s: np.ndarray, values: np.ndarray, gaps: np.ndarray | None = None) -> None:
        """``values`` (R,) per bin against ``age_s`` (R,), seconds before now (≤ 0); ``gaps`` (R,) bool: bins whose
        value is unknown (dropped: not run), drawn as breaks in the line, never as zeros."""
        n = len(values)
        x, y = np.asarray(age_s, np.float64), np.asarray(values, np.float64)
        if gaps is not None and len(gaps) == n and gaps.any():
            y = np.where(gaps, np.nan, y)
        self.curve.setData(x, y, connect="finite")
        known = y[np.isfinite(y)]
        span = (float(x[0]) if n else -1.0, steady_top(self._span[1] if self._span else None,
                                                       float(known.max()) if len(known) else 0.0))
        if span != self._span:  # fixed ranges: the axes are redrawn only when they change
            self.setXRange(min(span[0], -1e-6), 0, padding=0.02)
            self.setYRange(0, span[1], padding=0.05)
            self._span = span
