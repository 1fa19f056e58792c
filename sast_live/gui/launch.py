"""Starting the GUI, or explaining why it cannot start and running the headless replay instead.

Checks, in order: a display to draw on (``$DISPLAY``/``$WAYLAND_DISPLAY`` or an offscreen ``QT_QPA_PLATFORM``);
Qt's system libraries — a missing ``libEGL.so.1`` and the like make the import fail, and a missing xcb
library makes Qt abort the whole process, so the platform plugin is first tried in a child process; the
message then names the Debian package to install (:mod:`sast_live.gui.qt_deps`, which ``make run`` uses to
install them).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from dataclasses import replace

from sast_live.errors import SastLiveError
from sast_live.gui.qt_deps import DEBIAN_PACKAGES

OFFSCREEN = ("offscreen", "minimal", "vnc")
SWITCH_INTERVAL_S = 0.001  # the GIL hand-over interval while the window runs (Python's default: 0.005)


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


def headless_fallback(spec: str, sources, options, reason: str, seconds: float | None = None) -> int:
    """The same session without a window: the recording played once as fast as possible, windows printed (for at
    most ``seconds`` of wall time, if given)."""
    from sast_live.headless import run_headless
    from sast_live.session import Session

    print(f"{reason}: running the headless replay of {spec} instead (python main.py replay --headless).",
          file=sys.stderr)
    run_headless(Session(replace(sources, speed=None, loop=False), options), spec, as_json=False, seconds=seconds)
    return 0


def launch(spec: str, sources, options, frames: int | None = None, panels: str = "default",
           seconds: float | None = None) -> int:
    """The window on ``spec`` (a :class:`~sast_live.session.SourceOptions` / ``PipelineOptions`` pair says how),
    or the headless fallback with the reason. ``frames``: close after N frames and print the figures as JSON;
    ``panels="all"``: the docked panels (network input, teach) open too; ``seconds``: close after that much wall
    time (``--seconds``, as the headless modes stop)."""
    reason = no_display_reason()
    if reason is None and os.environ.get("QT_QPA_PLATFORM", "").split(":")[0] not in OFFSCREEN:
        reason = qt_problem()
    if reason is not None:
        return headless_fallback(spec, sources, options, reason, seconds)
    try:
        from PyQt6 import QtWidgets

        from sast_live.gui.window import MainWindow
    except ImportError as exc:
        return headless_fallback(spec, sources, options, explain_qt_failure(str(exc)), seconds)
    from sast_live.session import Session

    session = Session(sources, options)
    app = QtWidgets.QApplication.instance() or QtWidgets.QApplication(sys.argv[:1])
    window = MainWindow(session, max_frames=frames)
    try:
        session.open(spec)
    except SastLiveError:
        window.close()
        raise
    window.remember_file(spec)
    window.show()
    if panels == "all":  # the command line's choice: not what the next window remembers
        window.inputs.show()
        window.teach.show()
        window.remember_docks = False
    timer = quit_on_signals(app)
    if seconds is not None:
        from PyQt6 import QtCore

        QtCore.QTimer.singleShot(int(seconds * 1000), window.close)
    # the window's painting is Python (pyqtgraph) and lets the GIL go at every Qt call; beside a busy pipeline
    # thread each hand-back waited up to a whole switch interval (5 ms by default)
    switch_interval = sys.getswitchinterval()
    sys.setswitchinterval(SWITCH_INTERVAL_S)
    try:
        app.exec()
    finally:
        timer.stop()
        window.close()
        session.stop()  # every thread joined before the interpreter exits
        sys.setswitchinterval(switch_interval)
    if frames is not None:
        print(json.dumps(gui_stats(window)))
    return 0


def quit_on_signals(app):
    """Ctrl-C and SIGTERM close the window like its close button. Qt's event loop runs in C++, where Python
    signal handlers cannot run; a timer hands control back to the interpreter five times a second."""
    import signal

    from PyQt6 import QtCore

    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: app.quit())
    timer = QtCore.QTimer()
    timer.timeout.connect(lambda: None)
    timer.start(200)
    return timer


def gui_stats(window) -> dict:
    import numpy as np

    # the first frames include the window's own start-up (first paint, fonts): not a steady-state latency
    lat = np.asarray(window.latencies_ms[5:] or window.latencies_ms or [0.0])
    snap = window.last_snapshot
    return {"frames": window.frames_rendered, "fps": round(window.fps(), 2),
            "latency_ms_p50": round(float(np.percentile(lat, 50)), 2),
            "latency_ms_p95": round(float(np.percentile(lat, 95)), 2),
            "source": snap.source if snap else None, "backend": snap.backend if snap else None,
            "events": snap.events_total if snap else 0, "windows": snap.windows if snap else 0,
            "synops": snap.synops_total if snap else 0, "error": snap.error if snap else None}
