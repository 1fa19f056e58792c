"""Starting the GUI, or explaining why it cannot start and running the headless replay instead.

Checks, in order: a display to draw on (``$DISPLAY``/``$WAYLAND_DISPLAY`` or an offscreen ``QT_QPA_PLATFORM``);
Qt's system libraries — a missing ``libEGL.so.1`` and the like make the import fail, and a missing xcb
library makes Qt abort the whole process, so the platform plugin is first tried in a child process; the
message then names the Debian package to install.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

from sast_live.errors import SastLiveError

DEMO = Path(__file__).resolve().parents[1] / "assets" / "demo_gestures.raw"
# the shared libraries PyQt6 needs most often on a minimal Debian, and the packages that provide them
DEBIAN_PACKAGES = {
    "libEGL.so.1": "libegl1", "libGL.so.1": "libgl1", "libOpenGL.so.0": "libopengl0",
    "libxkbcommon.so.0": "libxkbcommon0", "libxkbcommon-x11.so.0": "libxkbcommon-x11-0",
    "libfontconfig.so.1": "libfontconfig1", "libfreetype.so.6": "libfreetype6", "libdbus-1.so.3": "libdbus-1-3",
    "libglib-2.0.so.0": "libglib2.0-0", "libxcb-cursor.so.0": "libxcb-cursor0", "libX11-xcb.so.1": "libx11-xcb1",
    "libxcb-icccm.so.4": "libxcb-icccm4", "libxcb-image.so.0": "libxcb-image0", "libxcb-keysyms.so.1":
    "libxcb-keysyms1", "libxcb-randr.so.0": "libxcb-randr0", "libxcb-render-util.so.0": "libxcb-render-util0",
    "libxcb-shape.so.0": "libxcb-shape0", "libxcb-xinerama.so.0": "libxcb-xinerama0", "libxcb-xkb.so.1":
    "libxcb-xkb1", "libSM.so.6": "libsm6", "libICE.so.6": "libice6",
}
OFFSCREEN = ("offscreen", "minimal", "vnc")


def no_display_reason() -> str | None:
    """Why no window can be shown, or None when one can."""
    platform = os.environ.get("QT_QPA_PLATFORM", "")
    if platform.split(":")[0] in OFFSCREEN or sys.platform in ("win32", "darwin"):
        return None
    if not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
        return "no display (neither $DISPLAY nor $WAYLAND_DISPLAY is set)"
    return None


def explain_qt_failure(text: str) -> str:
    """A user-facing sentence for Qt's import or plugin error output."""
    libs = sorted(set(re.findall(r"(lib[\w.+-]+\.so(?:\.\d+)*): cannot open shared object", text)))
    pkgs = {DEBIAN_PACKAGES[lib] for lib in libs if lib in DEBIAN_PACKAGES}
    if "xcb-cursor" in text:
        pkgs.add("libxcb-cursor0")
    pkgs = sorted(pkgs)
    if pkgs:
        return f"Qt cannot start: missing {', '.join(libs) or 'system libraries'}; install with  " \
               f"sudo apt install {' '.join(pkgs)}"
    last = text.strip().splitlines()[-1] if text.strip() else "unknown error"
    return f"Qt cannot start: {last}"


def qt_problem() -> str | None:
    """None when Qt can open its platform here; otherwise what is wrong (checked in a child process)."""
    code = "from PyQt6.QtWidgets import QApplication; QApplication(['sast-live-probe'])"
    try:
        env = dict(os.environ, QT_DEBUG_PLUGINS="1")  # makes Qt name the library it could not load
        done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, env=env)
    except subprocess.TimeoutExpired:
        return "Qt cannot start: the platform plugin did not answer within 60 s"
    return None if done.returncode == 0 else explain_qt_failure(done.stderr + done.stdout)


def headless_fallback(args, reason: str) -> int:
    from sast_live.app import run_headless
    from sast_live.pipeline import load_backend
    from sast_live.sources import open_source

    spec = args.source or str(DEMO)
    print(f"{reason}: running the headless replay of {spec} instead (python main.py replay --headless).",
          file=sys.stderr)
    source = open_source(spec, speed=None, loop=False, protocol=args.protocol, sensor_size=args.sensor_size)
    run_headless(source, load_backend(args.model, args.precision), as_json=False,
                 pj_per_synop=args.pj_per_synop)
    return 0


def launch(args) -> int:
    """``main.py gui`` (and plain ``main.py``): the window, or the headless fallback with the reason."""
    reason = no_display_reason()
    if reason is None and os.environ.get("QT_QPA_PLATFORM", "").split(":")[0] not in OFFSCREEN:
        reason = qt_problem()
    if reason is not None:
        return headless_fallback(args, reason)
    try:
        from PyQt6 import QtWidgets

        from sast_live.gui.window import MainWindow
    except ImportError as exc:
        return headless_fallback(args, explain_qt_failure(str(exc)))
    from sast_live.session import Session

    spec = args.source or str(DEMO)
    loop = (args.source is None) if args.loop is None else args.loop
    speed = None if args.speed == 0 else args.speed
    session = Session(args.model, args.precision, speed, loop, args.protocol, args.pj_per_synop)
    app = QtWidgets.QApplication.instance() or QtWidgets.QApplication(sys.argv[:1])
    window = MainWindow(session, max_frames=args.frames)
    try:
        session.open(spec)
    except SastLiveError:
        window.close()
        raise
    window.show()
    app.exec()
    if args.frames is not None:
        print(json.dumps(gui_stats(window)))
    return 0


def gui_stats(window) -> dict:
    import numpy as np

    # the first frames include the window's own start-up (first paint, fonts): not a steady-state latency
    lat = np.asarray(window.latencies_ms[5:] or window.latencies_ms or [0.0])
    return {"frames": window.frames_rendered, "fps": round(window.fps(), 2),
            "latency_ms_p50": round(float(np.percentile(lat, 50)), 2),
            "latency_ms_p95": round(float(np.percentile(lat, 95)), 2)}
