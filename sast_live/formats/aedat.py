"""AEDAT files from iniVation cameras.

* **AEDAT 3.1** (IBM's DVS128 Gesture recordings, ``userNN_<lighting>.aedat`` with ``_labels.csv``): our
  own NumPy reader. A text header of ``#`` lines ends with ``#!END-HEADER\\r\\n``; then packets, each a 28-byte
  header (int16 type, int16 source, int32 event size, int32 ts offset, int32 ts overflow, int32 capacity,
  int32 number, int32 valid) followed by ``capacity × size`` bytes. Polarity events (type 1) are 8 bytes:
  uint32 data (bit 0 valid, bit 1 polarity, bits 2–16 y, bits 17–31 x) and int32 timestamp; the full time is
  ``overflow << 31 | timestamp`` µs. Other packet types are skipped.
* **AEDAT 4** through dv-processing (the optional ``[dv]`` extra).
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import numpy as np

from sast_live.errors import EventFormatError, SastLiveError
from sast_live.events import SensorSize, as_sensor_size, check_events, make_events
from sast_live.formats.base import EventReader

END_HEADER = b"#!END-HEADER\r\n"
PACKET_HEADER = np.dtype([("type", "<i2"), ("source", "<i2"), ("size", "<i4"), ("ts_offset", "<i4"),
                          ("ts_overflow", "<i4"), ("capacity", "<i4"), ("number", "<i4"), ("valid", "<i4")])
POLARITY_EVENT = 1
DVS128 = SensorSize(128, 128)


class AEDAT31Reader(EventReader):
    format = "AEDAT3"

    def __init__(self, path, sensor_size=None, chunk_events=1 << 16):
        super().__init__(path, sensor_size, chunk_events)
        with open(self.path, "rb") as fh:
            head = fh.read(1 << 16)
        if not head.startswith(b"#!AER-DAT3"):
            raise EventFormatError(self.path, 0, "not an AEDAT 3.x file (no '#!AER-DAT3' line)")
        end = head.find(END_HEADER)
        if end < 0:
            raise EventFormatError(self.path, len(head), "AEDAT 3 header has no '#!END-HEADER' line")
        self.header_size = end + len(END_HEADER)
        text = head[: self.header_size].decode("latin-1")
        self.header = {"lines": text.splitlines()}
        # DVS128 Gesture was recorded with a DVS128; other sources may name their size in the header
        self._sensor_size = DVS128 if "DVS128" in text or "dvs128" in text.lower() else None

    def _raw_chunks(self, n: int) -> Iterator[tuple[int, np.ndarray]]:
        pos = self.header_size
        with open(self.path, "rb") as fh:
            fh.seek(pos)
            while pos < self.file_size:
                raw = fh.read(PACKET_HEADER.itemsize)
                if len(raw) < PACKET_HEADER.itemsize:
                    raise EventFormatError(self.path, pos, "file ends inside an AEDAT 3 packet header")
                h = np.frombuffer(raw, dtype=PACKET_HEADER)[0]
                size, cap, n = int(h["size"]), int(h["capacity"]), int(h["number"])
                if size <= 0 or cap < 0 or n < 0 or n > cap or size * cap > self.file_size:
                    raise EventFormatError(self.path, pos, f"impossible AEDAT 3 packet header {h}")
                body = fh.read(size * cap)
                if len(body) < size * cap:
                    raise EventFormatError(self.path, pos, "file ends inside an AEDAT 3 packet")
                if int(h["type"]) == POLARITY_EVENT:
                    if size != 8:
                        raise EventFormatError(self.path, pos, f"polarity events of {size} bytes (need 8)")
                    rec = np.frombuffer(body, dtype=[("data", "<u4"), ("ts", "<i4")])[:n]
                    rec = rec[(rec["data"] & 1) == 1]  # valid events only
                    data = rec["data"].astype(np.int64)
                    t = (np.int64(h["ts_overflow"]) << 31) | rec["ts"].astype(np.int64)
                    yield pos, make_events(t, (data >> 17) & 0x7FFF, (data >> 2) & 0x7FFF, (data >> 1) & 1)
                pos += PACKET_HEADER.itemsize + size * cap


def write_aedat31(path: str | os.PathLike, events: np.ndarray, sensor_size=DVS128,
                  packet_events: int = 4096) -> int:
    """Write polarity events as AEDAT 3.1 (what IBM's DVS128 Gesture files hold); returns bytes.

    Used to make test fixtures and to hand recordings to jAER-era tools.
    """
    sensor_size = as_sensor_size(sensor_size)
    check_events(events, sensor_size)
    header = (b"#!AER-DAT3.1\r\n#Format: RAW\r\n#Source 1: DVS128\r\n"
              b"#Start-Time: written by SAST-Live\r\n" + END_HEADER)
    with open(path, "wb") as fh:
        fh.write(header)
        start = 0
        while start < len(events):
            ev = events[start : start + packet_events]
            t = ev["t"].astype(np.int64)
            overflow = int(t[0] >> 31)
            if int(t[-1] >> 31) != overflow:  # a packet holds one overflow epoch: split at the boundary
                cut = int(np.searchsorted(t, (overflow + 1) << 31))
                ev, t = ev[:cut], t[:cut]
            h = np.zeros(1, dtype=PACKET_HEADER)
            h["type"], h["source"], h["size"], h["ts_offset"] = POLARITY_EVENT, 1, 8, 4
            h["ts_overflow"], h["capacity"], h["number"], h["valid"] = overflow, len(ev), len(ev), len(ev)
            rec = np.empty(len(ev), dtype=[("data", "<u4"), ("ts", "<i4")])
            rec["data"] = ((ev["x"].astype(np.uint32) << 17) | (ev["y"].astype(np.uint32) << 2)
                           | (ev["p"].astype(np.uint32) << 1) | 1)
            rec["ts"] = (t & 0x7FFFFFFF).astype(np.int32)
            fh.write(h.tobytes())
            fh.write(rec.tobytes())
            start += len(ev)
    return os.path.getsize(path)


class AEDAT4Reader(EventReader):
    """AEDAT 4 through dv-processing (``pip install 'sast-live[dv]'``)."""

    format = "AEDAT4"

    def __init__(self, path, sensor_size=None, chunk_events=1 << 16):
        super().__init__(path, sensor_size, chunk_events)
        dv = import_dv()
        try:
            self._recording = dv.io.MonoCameraRecording(str(self.path))
        except Exception as exc:  # dv-processing raises plain RuntimeErrors on bad files
            raise EventFormatError(self.path, None, f"dv-processing cannot open it: {exc}") from exc
        if not self._recording.isEventStreamAvailable():
            raise EventFormatError(self.path, None, "AEDAT 4 file has no event stream")
        w, h = self._recording.getEventResolution()
        self._sensor_size = SensorSize(int(w), int(h))

    def _raw_chunks(self, n: int) -> Iterator[tuple[int, np.ndarray]]:
        dv = import_dv()
        rec = dv.io.MonoCameraRecording(str(self.path))  # a fresh cursor for every pass
        while True:
            try:
                batch = rec.getNextEventBatch()
            except Exception as exc:
                raise EventFormatError(self.path, None, f"dv-processing failed mid-file: {exc}") from exc
            if batch is None:
                return
            ev = dv_batch_events(batch)
            if len(ev):
                yield None, ev


def dv_batch_events(batch) -> np.ndarray:
    """A dv-processing ``EventStore`` (what recordings and cameras hand out) as EVENT_DTYPE (t in µs)."""
    a = batch.numpy()
    return make_events(a["timestamp"], a["x"], a["y"], a["polarity"])


def import_dv():
    """Import dv-processing (2.x: ``dv.io.camera`` and ``dv.io.MonoCameraRecording``) or explain how to get it."""
    try:
        import dv_processing
    except ImportError as exc:
        raise SastLiveError(
            "reading AEDAT 4 files and USB cameras needs dv-processing: "
            "install the optional extra with  pip install 'sast-live[dv]'  (or  pip install dv-processing)"
        ) from exc
    return dv_processing
