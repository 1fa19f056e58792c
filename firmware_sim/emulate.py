"""``main.py emulate-camera``: serve a recording as a virtual camera on a pseudo-terminal (or a given port)."""

from __future__ import annotations

import sys
import threading

from firmware_sim.camera_board import CameraBoard, PtyLink, SerialLink


def emulate_camera(path, protocol: str = "edvs", port: str | None = None, speed: float = 1.0, loop: bool = False,
                   byte_error_rate: float = 0.0, seed: int = 0, wait_for_start: bool = True,
                   stop: threading.Event | None = None, out=None, linger_s: float = 1.0,
                   link: str | None = None) -> CameraBoard:
    """Stream ``path`` until it ends (or forever with ``loop``); prints the port to give the host first.

    ``link``: also name the pseudo-terminal by this symbolic link, removed when the board stops (the port
    printed is then the link; see :class:`PtyLink`)."""
    from sast_live.errors import SastLiveError
    from sast_live.formats.registry import read_events

    if port and link:
        raise SastLiveError("--link names the new pseudo-terminal; with --port there is none")
    out = out or sys.stdout
    board = CameraBoard(read_events(path), protocol, speed, loop, byte_error_rate, seed, wait_for_start)
    link = SerialLink(port) if port else PtyLink.open(link)
    try:
        print(link.path, file=out, flush=True)
        start = "waiting for E+ from the host" if wait_for_start else "streaming"
        print(f"# emulated {protocol} camera on {link.path}: {len(board.events)} events at {speed}× "
              f"({start}; Ctrl-C stops)", file=sys.stderr, flush=True)
        board.serve(link, stop, on_start=lambda: print("# streaming", file=sys.stderr, flush=True))
        # let the host drain what is still in the line before the port goes away (a pty loses unread bytes)
        (stop or threading.Event()).wait(linger_s)
    except KeyboardInterrupt:
        pass
    finally:
        print(f"# sent {board.sent_events} events, {board.sent_bytes} bytes, {board.faults} injected faults",
              file=sys.stderr, flush=True)
        link.close()
    return board
