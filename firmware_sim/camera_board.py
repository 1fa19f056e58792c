"""An emulated event-camera board: streams a recording over a serial line in the eDVS4337 ``!E2`` or the
framed EVT2 protocol, at the recording's pace (× speed) — the test double for ``sast_live``'s serial source.

    board = CameraBoard(events, "edvs")
    link = PtyLink.open()                 # a pseudo-terminal; link.path is the port to give the host
                                          # (PtyLink.open(link="cam") names it by a link that goes with it)
    board.serve(link, stop_event)         # waits for the host's ``E+``, then streams until the end

Like the real boards it obeys ``E+`` / ``E-`` (start / stop streaming) and ``R`` (restart from the top), and
ignores ``!E2`` (the only timestamp mode it speaks). A full line blocks the board (flow control) rather
than dropping bytes. ``byte_error_rate`` corrupts the stream on purpose: each byte is, with that
probability, flipped, dropped or sent twice — the faults a noisy UART produces.
"""

from __future__ import annotations

import os
import threading
import time
import tty

import numpy as np

from sast_live.errors import SastLiveError
from sast_live.wire import PROTOCOLS, edvs, framed

SLICE_US = 2_000  # the board sends what is due every 2 ms of recording time


class PtyLink:
    """The board's end of a pseudo-terminal pair; the host opens :attr:`path` like a serial device.

    The kernel gives a closed pseudo-terminal's number to the next one opened, so a host still retrying
    ``/dev/pts/N`` after this board went away can reach someone else's board. ``link`` (a path) is a symbolic
    link to the pty that is removed before the pty closes, as udev's ``/dev/serial/by-id`` names vanish when a
    camera is unplugged: a host given the link finds nothing once this board is gone. :attr:`path` is then the link.
    """

    def __init__(self, master: int, slave: int, link: str | os.PathLike | None = None):
        self.master, self.slave = master, slave
        self.tty = os.ttyname(slave)
        self.link = None
        if link is not None:
            make_link(self.tty, link)
            self.link = os.fspath(link)
        self.path = self.link or self.tty
        os.set_blocking(master, True)

    @classmethod
    def open(cls, link: str | os.PathLike | None = None) -> PtyLink:
        master, slave = os.openpty()
        tty.setraw(slave)  # no echo, no newline translation: bytes pass untouched
        tty.setraw(master)
        try:
            return cls(master, slave, link)
        except SastLiveError:
            os.close(master)
            os.close(slave)
            raise

    def write(self, data: bytes) -> None:
        view = memoryview(data)
        while len(view):
            n = os.write(self.master, view)
            view = view[n:]

    def read_commands(self) -> bytes:
        """Whatever the host wrote, without blocking."""
        import select

        ready, _, _ = select.select([self.master], [], [], 0)
        return os.read(self.master, 4096) if ready else b""

    def close(self) -> None:
        """Remove the link, then close both ends once (a second call must not close a reused descriptor number)."""
        link, self.link = self.link, None
        if link is not None and os.path.islink(link) and os.readlink(link) == self.tty:  # still ours
            os.unlink(link)
        fds, self.master, self.slave = (self.master, self.slave), -1, -1
        for fd in fds:
            if fd >= 0:
                try:
                    os.close(fd)
                except OSError:
                    pass


def make_link(target: str, link: str | os.PathLike) -> None:
    """Point the symbolic link ``link`` at ``target``; a stale link is replaced, anything else is refused."""
    if os.path.lexists(link) and not os.path.islink(link):
        raise SastLiveError(f"{os.fspath(link)!r} exists and is not a symbolic link; not replacing it")
    try:
        if os.path.islink(link):
            os.unlink(link)  # left by a board that was killed
        os.symlink(target, link)
    except OSError as exc:
        raise SastLiveError(f"cannot make the link {os.fspath(link)!r} to {target}: {exc.strerror}") from None


class SerialLink:
    """The board on a real serial device (e.g. one end of a null-modem pair) through pyserial."""

    def __init__(self, port: str, baud: int = edvs.BAUD):
        import serial

        try:
            self.ser = serial.serial_for_url(port, baudrate=baud, rtscts=True, timeout=0)
        except (serial.SerialException, OSError, ValueError) as exc:
            raise SastLiveError(f"cannot open {port!r} for the emulated camera: {exc}") from None
        self.path = port

    def write(self, data: bytes) -> None:
        self.ser.write(data)

    def read_commands(self) -> bytes:
        return self.ser.read(self.ser.in_waiting or 0)

    def close(self) -> None:
        self.ser.close()


def corrupt(data: bytes, rate: float, rng: np.random.Generator) -> tuple[bytes, int]:
    """Flip, drop or duplicate each byte with probability ``rate``; returns the bytes and the faults made."""
    if rate <= 0 or not data:
        return data, 0
    buf = np.frombuffer(data, np.uint8)
    hit = rng.random(len(buf)) < rate
    if not hit.any():
        return data, 0
    kind = rng.integers(0, 3, len(buf))
    flipped = np.where(hit & (kind == 0), buf ^ (1 << rng.integers(0, 8, len(buf))).astype(np.uint8), buf)
    repeat = np.ones(len(buf), np.int64)
    repeat[hit & (kind == 1)] = 0  # dropped
    repeat[hit & (kind == 2)] = 2  # duplicated
    return np.repeat(flipped, repeat).tobytes(), int(hit.sum())


class CameraBoard:
    """Streams ``events`` (EVENT_DTYPE) in ``protocol``; counters in ``sent_events``/``sent_bytes``/``faults``."""

    def __init__(self, events: np.ndarray, protocol: str = "edvs", speed: float = 1.0, loop: bool = False,
                 byte_error_rate: float = 0.0, seed: int = 0, wait_for_start: bool = True):
        if protocol not in PROTOCOLS:
            raise SastLiveError(f"protocol must be one of {PROTOCOLS}, got {protocol!r}")
        if not speed > 0:
            raise SastLiveError(f"speed must be positive, got {speed}")
        if not 0 <= byte_error_rate < 1:
            raise SastLiveError(f"byte error rate must be in [0, 1), got {byte_error_rate}")
        if protocol == "edvs" and len(events) and (events["x"].max() >= 128 or events["y"].max() >= 128):
            raise SastLiveError("the eDVS protocol carries 128×128 pixels; this recording is larger (use framed)")
        self.events, self.protocol, self.speed, self.loop = events, protocol, float(speed), loop
        self.rate = float(byte_error_rate)
        self.rng = np.random.default_rng(seed)
        self.streaming = not wait_for_start
        self.sent_events = self.sent_bytes = self.faults = 0
        self._seq = 0

    def encode(self, events: np.ndarray) -> bytes:
        if self.protocol == "edvs":
            return edvs.encode_edvs(events)
        data, self._seq = framed.encode_framed(events, self._seq)
        return data

    def _commands(self, link) -> bool:
        """Apply the host's commands; True when the host asked to restart from the top."""
        try:
            cmd = link.read_commands()
        except OSError:
            return False
        restart = False
        for line in cmd.replace(b"\r", b"\n").split(b"\n"):
            line = line.strip()
            if line == b"E+":
                self.streaming = True
            elif line == b"E-":
                self.streaming = False
            elif line == b"R":
                restart = True
        return restart

    def serve(self, link, stop: threading.Event | None = None, clock=time.monotonic, on_start=None) -> None:
        """Stream until the recording ends (or forever with ``loop``) or ``stop`` is set; ``on_start()`` is
        called when streaming begins (the host's E+)."""
        stop = stop or threading.Event()
        ev = self.events
        if len(ev) == 0:
            return
        t_first, t_span = int(ev["t"][0]), int(ev["t"][-1]) - int(ev["t"][0]) + SLICE_US
        while not stop.is_set() and not self.streaming:
            self._commands(link)
            time.sleep(0.005)
        if on_start is not None and not stop.is_set():
            on_start()
        i, lap, wall0 = 0, 0, clock()
        while not stop.is_set():
            if self._commands(link):
                i, lap, wall0 = 0, 0, clock()
            if not self.streaming:
                time.sleep(0.005)
                wall0 += 0.005  # a stopped board's clock does not run on
                continue
            due = t_first + int((clock() - wall0) * 1e6 * self.speed) - lap * t_span
            j = int(np.searchsorted(ev["t"], due, side="right"))
            if j > i:
                part = ev[i:j]
                if lap:
                    part = part.copy()
                    part["t"] += lap * t_span
                data, faults = corrupt(self.encode(part), self.rate, self.rng)
                try:
                    link.write(data)
                except OSError:  # the line is gone (port closed under us): a board just stops
                    return
                self.sent_events += j - i
                self.sent_bytes += len(data)
                self.faults += faults
                i = j
            if i >= len(ev):
                if not self.loop:
                    return
                i, lap = 0, lap + 1
                continue
            time.sleep(min(SLICE_US / 1e6 / self.speed, 0.01))
