"""Pacing against a target clock (mne-lsl's player): a slice ending at sensor time ``t1`` is released at
``wall0 + (t1 − t0) / speed``; the sleep is ``max(due − now, 0)``, so lateness never accumulates.

:class:`Pacer` owns the anchor and is changed while running (speed, pause) by re-anchoring at the current
position, so a speed change never makes the stream jump. The clock and sleep are injectable for tests.
"""

from __future__ import annotations

import threading
import time


class Pacer:
    """Maps sensor time (µs) to wall time (s). ``speed=None`` means as fast as possible."""

    def __init__(self, speed: float | None = 1.0, clock=time.monotonic, sleep=None):
        self.clock = clock
        self._wake = threading.Event()  # set to cut a sleep short (speed change, pause, close)
        self._sleep = sleep or (lambda s: self._wake.wait(s))
        self._lock = threading.Lock()
        self.speed = speed
        self._anchor: tuple[float, int] | None = None  # (wall s, sensor µs)
        self.paused = False
        self._last: int | None = None  # the sensor time last released
        self._allow: int | None = None  # paused: release up to this sensor time (a step)

    def interrupt(self) -> None:
        """Cut a sleep short (the caller changed something or is closing)."""
        self._wake.set()

    def start(self, t_us: int) -> None:
        with self._lock:
            self._anchor = (self.clock(), int(t_us))

    def _now_sensor(self) -> float:
        wall, t = self._anchor
        return t + (self.clock() - wall) * 1e6 * self.speed

    def _position(self) -> int:
        """Where the stream is: the clock's sensor time, or the last release when the source lags behind it (a
        renderer slower than the speed asks). Re-anchoring there keeps a lagging source from bursting to catch up
        after a pause or a speed change."""
        now = int(self._now_sensor())
        return now if self._last is None else min(now, int(self._last))

    def set_speed(self, speed: float | None) -> None:
        with self._lock:
            if self._anchor is not None and not self.paused:  # from "as fast as possible": where it got to
                at = self._position() if self.speed else (self._last if self._last is not None else self._anchor[1])
                self._anchor = (self.clock(), int(at))
            self.speed = speed
        self._wake.set()

    def set_paused(self, paused: bool) -> None:
        with self._lock:
            if self._anchor is not None and self.speed and not self.paused and paused:
                self._anchor = (self.clock(), self._position())
            elif self._anchor is not None and self.paused and not paused:
                # steps taken while paused moved the position on: play from there
                self._anchor = (self.clock(), max(self._anchor[1], self._last or self._anchor[1]))
            self.paused, self._allow = paused, None
        self._wake.set()

    def step(self, us: int) -> None:
        """While paused, release ``us`` more µs of sensor time (one bin forward); nothing when playing."""
        with self._lock:
            if self.paused and self._last is not None:
                self._allow = max(self._allow or self._last, self._last) + int(us)
        self._wake.set()

    def extend(self, us: int) -> None:
        """A step's release reaches ``us`` µs further (a released slice was thrown away)."""
        with self._lock:
            if self._allow is not None:
                self._allow += int(us)

    def wait_until(self, t_us: int, stop: threading.Event) -> None:
        """Block until sensor time ``t_us`` is due (or ``stop`` is set)."""
        if self._anchor is None:
            self.start(t_us)
        while not stop.is_set():
            with self._lock:
                if self.paused and self._allow is not None and t_us <= self._allow:
                    self._last = t_us
                    return
                if self.paused:
                    delay = 0.05
                elif not self.speed:
                    self._last = t_us
                    return
                else:
                    wall, t = self._anchor
                    delay = wall + (t_us - t) / (1e6 * self.speed) - self.clock()
                    if delay <= 0:
                        self._last = t_us
                        return
            self._wake.clear()
            self._sleep(min(delay, 0.05))  # wake at least every 50 ms to honour stop and pause
