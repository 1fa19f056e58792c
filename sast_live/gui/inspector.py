"""The network's view: the binned, pooled input it received in the last bin (ON and OFF channels side by side),
and one layer's spikes in that bin, its channels tiled in a grid (position within each tile)."""

from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg
from PyQt6 import QtWidgets

from sast_live.gui.views import ElidedLabel

GAP_RGB = (110, 110, 120)  # the lines between tiles (and between the ON and OFF halves)


def to_rgb(image: np.ndarray, lut: np.ndarray) -> np.ndarray:
    """A 2-D image whose gaps are −1 → (H, W, 3) uint8: values 0 … max through ``lut`` (256, 3), gaps grey."""
    top = max(1.0, float(image.max()))
    idx = np.clip(image / top * 255, 0, 255).astype(np.int64)
    out = lut[idx]
    out[image < 0] = GAP_RGB
    return out


def tile(maps: np.ndarray, gap: int = 1) -> np.ndarray:
    """(C, H, W) → one 2-D image of the C maps in a near-square grid, ``gap`` pixels of −1 between tiles."""
    c, h, w = maps.shape
    cols = math.ceil(math.sqrt(c))
    rows = math.ceil(c / cols)
    out = np.full((rows * (h + gap) - gap, cols * (w + gap) - gap), -1.0, np.float32)
    for k in range(c):
        r, q = divmod(k, cols)
        out[r * (h + gap):r * (h + gap) + h, q * (w + gap):q * (w + gap) + w] = maps[k]
    return out


class InputView(QtWidgets.QDockWidget):
    """A dock (View → Network input): the input frame and a layer's spike map of the last bin."""

    def __init__(self, parent=None):
        super().__init__("Network input and layer spikes", parent)
        body = QtWidgets.QWidget()
        layout = QtWidgets.QVBoxLayout(body)
        self.graphics = pg.GraphicsLayoutWidget()
        self.input_box = self.graphics.addViewBox(lockAspect=True, invertY=True, enableMouse=False)
        self.input_image = pg.ImageItem(axisOrder="row-major")
        self.input_lut = pg.colormap.get("inferno").getLookupTable(nPts=256)
        self.input_box.addItem(self.input_image)
        self.graphics.nextRow()
        self.layer_box = self.graphics.addViewBox(lockAspect=True, invertY=True, enableMouse=False)
        self.layer_image = pg.ImageItem(axisOrder="row-major")
        self.layer_lut = pg.colormap.get("viridis").getLookupTable(nPts=256)
        self.layer_box.addItem(self.layer_image)
        self.caption = QtWidgets.QLabel("input: ON | OFF events per pooled pixel in the last bin")
        self.layer = QtWidgets.QComboBox()
        self.layer.setToolTip("which layer's spikes to show (channels tiled, positions within a tile)")
        row = QtWidgets.QHBoxLayout()
        row.addWidget(QtWidgets.QLabel("layer"))
        row.addWidget(self.layer, 1)
        layout.addWidget(self.caption)
        layout.addWidget(self.graphics, 1)
        layout.addLayout(row)
        self.layer_caption = ElidedLabel("")
        layout.addWidget(self.layer_caption)
        self.setWidget(body)
        self.setMinimumWidth(300)

    def update_view(self, snap) -> None:
        if not self.isVisible() or snap.input_frame is None:
            return
        x = np.asarray(snap.input_frame, np.float32)  # (C, h, w); channel 0 OFF, 1 ON
        side = np.concatenate([x[-1], np.full((x.shape[1], 1), -1, np.float32), x[0]], axis=1) if len(x) > 1 \
            else x[0]
        self.input_image.setImage(to_rgb(side, self.input_lut), autoLevels=False, levels=(0, 255))
        maps = snap.spike_maps
        if self.layer.count() != len(maps):
            self.layer.clear()
            self.layer.addItems([f"L{i + 1}  {m.shape[0]} × {m.shape[1]} × {m.shape[2]}" for i, m in enumerate(maps)])
        k = self.layer.currentIndex()
        if 0 <= k < len(maps):
            m = np.asarray(maps[k], np.float32)
            self.layer_image.setImage(to_rgb(tile(m), self.layer_lut), autoLevels=False, levels=(0, 255))
            self.layer_caption.setText(f"L{k + 1}: {int(np.count_nonzero(m)):,} of {m.size:,} neurons spiked in the "
                                       "last bin")
