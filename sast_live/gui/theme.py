"""Dark and light themes for the whole application (Qt's Fusion style with a palette), and the plots' colours."""

from __future__ import annotations

import pyqtgraph as pg
from PyQt6 import QtGui, QtWidgets

#: window, base (inputs, lists), text, button, highlight (progress bars: blue, so the prediction panel's amber
#: highlight of the app's answer stands out), plot background, plot foreground
THEMES = {
    "dark": ("#1e1f24", "#15161a", "#e6e6e6", "#2b2d34", "#3d7fd6", "#000000", "#c8c8c8"),
    "light": ("#efefef", "#ffffff", "#111111", "#e2e2e2", "#3d7fd6", "#ffffff", "#333333"),
}


def apply_theme(name: str) -> None:
    """Colour every widget of the running application (and plots made from now on) with theme ``name``."""
    window, base, text, button, highlight, plot_bg, plot_fg = THEMES[name]
    app = QtWidgets.QApplication.instance()
    app.setStyle("Fusion")
    p = QtGui.QPalette()
    role = QtGui.QPalette.ColorRole
    for r, c in ((role.Window, window), (role.Base, base), (role.AlternateBase, button), (role.Text, text),
                 (role.WindowText, text), (role.Button, button), (role.ButtonText, text), (role.ToolTipBase, base),
                 (role.ToolTipText, text), (role.Highlight, highlight), (role.HighlightedText, "#ffffff"),
                 (role.PlaceholderText, "#888888")):
        p.setColor(r, QtGui.QColor(c))
    app.setPalette(p)
    pg.setConfigOptions(background=plot_bg, foreground=plot_fg)
