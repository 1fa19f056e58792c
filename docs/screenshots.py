"""Regenerate the README's screenshots from the GUI itself (the real window, the bundled demo).

    xvfb-run -a -s "-screen 0 1600x1000x24" python docs/screenshots.py

Writes docs/gui.png (a gesture: timeline with the prediction strip and ground truth, energy panel),
docs/gui-input.png (the network-input view and a layer's spikes, paused on a bin of a gesture) and
docs/gui-no-gesture.png (the demo's pause). Each is taken once the replay has reached a chosen moment of the demo.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

DOCS = Path(__file__).resolve().parent
sys.path.insert(0, str(DOCS.parent))


def main() -> int:
    import os
    import tempfile

    os.environ["SAST_LIVE_CONFIG_DIR"] = tempfile.mkdtemp()  # the window as a new user opens it, not as last left
    from PyQt6 import QtWidgets

    from sast_live.gui.window import MainWindow
    from sast_live.session import Session, SourceOptions
    from sast_live.sources import DEMO

    app = QtWidgets.QApplication(sys.argv[:1])
    session = Session(SourceOptions(speed=1.0))
    win = MainWindow(session)
    win.resize(1560, 1000)
    win.show()
    session.open(str(DEMO))

    def spin(seconds: float, until=lambda: False) -> None:
        end = time.monotonic() + seconds
        while time.monotonic() < end and not until():
            app.processEvents()
            time.sleep(0.01)

    def at(t_s: float) -> None:  # play on until the demo reaches t_s (file time)
        spin(120, until=lambda: (session.source.position_us or 0) >= t_s * 1e6)

    def save(name: str) -> None:
        spin(0.3)
        win.grab().save(str(DOCS / name))
        print(f"wrote docs/{name}")

    at(4.2)  # right arm clockwise, under way
    save("gui.png")
    at(9.4)  # the pause between gestures: the answer and its reason
    save("gui-no-gesture.png")
    at(14.0)  # air drums
    win.controls.play.setChecked(True)
    win.inputs.show()
    win.inputs.layer.setCurrentIndex(0)
    spin(1.0)
    save("gui-input.png")
    win.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
