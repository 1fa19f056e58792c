"""A camera on a serial line (pyserial): the eDVS4337 ``!E2`` protocol or the framed EVT2 protocol.

``port`` is anything ``serial.serial_for_url`` opens: a device (``/dev/ttyUSB0``, a pseudo-terminal), or a URL
(``loop://``, ``socket://host:port``). On open the camera is told to stream (``E+``; the eDVS first gets ``R``
and ``!E2``); on close to stop (``E-``). A read error or an unplugged cable is counted and reported in
``stats``, the port is reopened every ``RETRY_S`` for up to ``reconnect_s`` seconds, and iteration ends only
when that fails; nothing is raised from the reading loop.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import numpy as np

from sast_live.errors import SastLiveError
from sast_live.events import SensorSize
from sast_live.sources.base import Source
from sast_live.wire import PROTOCOLS, edvs, framed

READ_TIMEOUT_S = 0.02  # a quiet line hands control back this often
RETRY_S = 0.5
WATERMARK_SLACK_US = 100_000  # events may still arrive this late; the watermark stays behind by this much
# After a silence that could hide a wrap, the rest of the burst is read before it is decoded (for at most SETTLE_S,
# or until the line is quiet): bytes held up on the camera's side (its USB bridge, a stalled board) arrive in quick
# succession, and their stamps show that the silence was a hold-up, not a still scene (see _bounded_idle).
SETTLE_S = 0.05
HOLD_TOL_US = 32_000  # how long the last bytes before a silence may have taken to reach the host (µs)


class SerialSource(Source):
    """Events from a serial camera. ``clock`` is injectable for tests."""

    def __init__(self, port: str, protocol: str = "edvs", sensor_size: SensorSize | None = None,
                 baud: int = edvs.BAUD, rtscts: bool = True, reconnect_s: float = 10.0, clock=time.monotonic):
        if protocol not in PROTOCOLS:
            raise SastLiveError(f"serial protocol must be one of {PROTOCOLS}, got {protocol!r}")
        if protocol == "edvs" and sensor_size not in (None, edvs.SENSOR):
            raise SastLiveError("the eDVS4337 is 128×128; --sensor-size does not apply")
        super().__init__(sensor_size or edvs.SENSOR)
        self.port, self.protocol, self.baud, self.rtscts = port, protocol, int(baud), rtscts
        self.reconnect_s = float(reconnect_s)
        self.clock = clock
        self.name = f"{protocol} camera on {port}"
        self._serial = None
        self._state = edvs.EdvsState() if protocol == "edvs" else framed.FramedState()
        # host idle time may only count while the line is seen empty: the end of the last read that returned
        # data, and the end of the last read that returned nothing after it (bytes that waited in the line
        # while the host was busy are not a pause)
        self._last_data: float | None = None
        self._last_empty: float | None = None
        self._t_last: int | None = None

    # -- port handling ----------------------------------------------------------------------------------
    def _connect(self) -> None:
        import serial

        try:
            ser = serial.serial_for_url(self.port, baudrate=self.baud, rtscts=self.rtscts, timeout=READ_TIMEOUT_S,
                                        write_timeout=1.0)
        except (serial.SerialException, OSError, ValueError) as exc:
            raise SastLiveError(f"cannot open serial port {self.port!r}: {exc}") from None
        try:
            if self.protocol == "edvs":
                ser.write(edvs.CMD_STOP + edvs.CMD_RESET)
                ser.flush()
                time.sleep(0.05)
                ser.reset_input_buffer()  # drop the reset banner and anything still in flight
                ser.write(edvs.CMD_TIMESTAMPS)
            ser.write(edvs.CMD_START)
            ser.flush()
        except (serial.SerialException, OSError) as exc:
            ser.close()
            raise SastLiveError(f"serial port {self.port!r} refused the start commands: {exc}") from None
        self._serial = ser

    def open(self):
        super().open()
        if self._serial is None:
            warm_up(self.protocol)  # compile the decoder now, not on the first bytes of a live stream
            self._connect()
        return self

    def close(self) -> None:
        super().close()
        ser, self._serial = self._serial, None
        if ser is not None:
            try:
                ser.write(edvs.CMD_STOP)
                ser.flush()
            except Exception:  # noqa: BLE001 - the port may already be gone; closing must not fail
                pass
            ser.close()

    def _reconnect(self, why: str) -> bool:
        """Count the failure and reopen the port within ``reconnect_s``; False when it stays away."""
        self.stats.errors += 1
        self.stats.last_error = why
        if self._serial is not None:
            try:
                self._serial.close()
            except Exception:  # noqa: BLE001
                pass
            self._serial = None
        deadline = self.clock() + self.reconnect_s
        while not self.closed and self.clock() < deadline:
            time.sleep(RETRY_S)
            try:
                self._connect()
            except SastLiveError as exc:
                self.stats.last_error = str(exc)
                continue
            self.stats.reconnects += 1
            self._state = self._state._replace(pending=b"", skipping=False)
            self._last_data = self._last_empty = None
            return True
        return False

    # -- decoding ---------------------------------------------------------------------------------------
    def feed(self, data: bytes, idle_us: int = -1, flush: bool = False) -> np.ndarray:
        """Decode bytes that arrived (also usable without a port); updates ``stats``. ``idle_us``: how long the
        line was seen empty before them; ``flush``: the line is quiet now (records waiting for look-ahead go)."""
        self.stats.bytes += len(data)
        if self.protocol == "edvs":
            events, st = edvs.decode_edvs(data, self._state, idle_us, flush)
            self.stats.resyncs = st.resyncs
            self.stats.losses = (st.skipped + edvs.RECORD - 1) // edvs.RECORD + st.discarded
        else:
            events, st = framed.decode_framed(data, self._state, self.sensor_size)
            self.stats.resyncs, self.stats.losses = st.resyncs, st.lost_frames
            self.stats.crc_errors, self.stats.invalid = st.crc_errors, st.invalid
        self._state = st
        return events

    def _chunks(self) -> Iterator[np.ndarray]:
        import serial

        if self._serial is None:
            self.open()
        while not self.closed:
            try:
                ser = self._serial
                data = ser.read(max(1, ser.in_waiting))
            except (serial.SerialException, OSError, TypeError, AttributeError) as exc:
                if self.closed:
                    return
                if not self._reconnect(f"{self.port}: {exc}"):
                    return
                continue
            now = self.clock()
            if not data:  # the line was empty since the last bytes were read
                self._last_empty = now
                events = self._delivered(self.feed(b"", flush=True))
                if self._t_last is not None and self._last_data is not None:
                    quiet = int((now - self._last_data) * 1e6) - WATERMARK_SLACK_US
                    self._watermark = max(self._watermark or 0, self._t_last + max(quiet, 0))
                yield events
                continue
            idle, quiet = self._idle_us(), False
            if self.protocol == "edvs" and idle >= edvs.GAP_MARGIN_US:  # a silence long enough to hide a wrap
                more, quiet = self._settle(ser)
                data += more
                now = self.clock()
                idle = self._bounded_idle(data, idle, int((now - self._last_data) * 1e6))
            self._last_data = now
            yield self._delivered(self.feed(data, idle, flush=quiet))

    def _settle(self, ser) -> tuple[bytes, bool]:
        """What else arrives within ``SETTLE_S``, and whether the line then went quiet (a read came back empty)."""
        import serial

        got, until = [], self.clock() + SETTLE_S
        while self.clock() < until:
            try:
                more = ser.read(max(1, ser.in_waiting))
            except (serial.SerialException, OSError, TypeError, AttributeError):
                break  # the next read in _chunks meets the error again and reconnects
            if not more:
                return b"".join(got), True
            got.append(more)
        return b"".join(got), False

    def _bounded_idle(self, data: bytes, idle_us: int, since_us: int) -> int:
        """The idle time to decode ``data`` with: ``idle_us``, unless the burst's own stamps rule out the wraps
        it would add.

        Events cannot have happened after the host read them: if the last bytes before the silence were read
        ``since_us`` ago and the burst's stamps span ``S``, the pause before its first event was at most
        ``since_us - S`` (+ ``HOLD_TOL_US`` for the delivery of those last bytes). A burst that was held up spans
        about the whole silence, so no wrap fits; after a still scene the burst is short and the bound is idle.
        Returns ``delta + k·2^16`` with ``k`` the wraps allowed, which the decoder turns back into ``k``."""
        st = self._state
        if st.pending or st.last16 < 0:  # a record straddling the silence, or no stamp yet: nothing to bound
            return idle_us
        ev, _ = edvs.decode_edvs(data, st, -1, flush=True)  # the stamps alone (a pure function: state unchanged)
        if len(ev) == 0:
            return idle_us
        delta = int(ev["t"][0]) - st.t_last  # the first record's stamp step, as the decoder will see it
        bound = since_us - (int(ev["t"][-1]) - int(ev["t"][0])) + HOLD_TOL_US
        k = min(int(edvs.extra_wraps(idle_us, delta)), max(0, (bound - delta) // edvs.WRAP_US))
        return delta + k * edvs.WRAP_US

    def _idle_us(self) -> int:
        """Host time the line was seen empty before the bytes just read (µs); -1 before the first bytes."""
        if self._last_data is None:
            return -1
        if self._last_empty is None or self._last_empty < self._last_data:
            return 0  # no empty read since the last bytes: no pause was seen, whatever the host's delay
        return int((self._last_empty - self._last_data) * 1e6)

    def _delivered(self, events: np.ndarray) -> np.ndarray:
        if len(events):
            self._t_last = int(events["t"][-1])
            self._watermark = max(self._watermark or 0, self._t_last)
        return events


def warm_up(protocol: str) -> None:
    """Compile (or load from numba's cache) the decoder of ``protocol`` with a few records of its own."""
    if protocol == "edvs":
        from sast_live.events import make_events

        n = 3 * edvs.LOOKAHEAD  # enough records for every look-ahead path of the decoder
        few = make_events(np.arange(n), np.zeros(n), np.zeros(n), np.ones(n))
        edvs.decode_edvs(edvs.encode_edvs(few), edvs.EdvsState(), flush=True)
