"""Which reader and writer handles a file: by ``format`` name, else by extension and header bytes."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from sast_live.errors import EventFormatError, SastLiveError
from sast_live.events import SensorSize
from sast_live.formats.aedat import AEDAT4Reader, AEDAT31Reader
from sast_live.formats.base import EventReader, read_prefix
from sast_live.formats.evt3 import EVT3Reader, write_evt3
from sast_live.formats.header import MAX_HEADER_BYTES, parse_header
from sast_live.formats.jaer import AEDAT2Reader, write_aedat2
from sast_live.formats.nmnist import NMNISTReader, write_nmnist
from sast_live.formats.npy import NpyReader, write_npy
from sast_live.formats.prophesee import DATReader, EVT2Reader, write_dat, write_evt2

READERS: dict[str, type[EventReader]] = {
    "evt2": EVT2Reader,
    "evt3": EVT3Reader,
    "dat": DATReader,
    "nmnist": NMNISTReader,
    "npy": NpyReader,
    "aedat2": AEDAT2Reader,
    "aedat3": AEDAT31Reader,
    "aedat4": AEDAT4Reader,
}
WRITERS = {
    "evt2": write_evt2,
    "evt3": write_evt3,
    "dat": write_dat,
    "nmnist": write_nmnist,
    "npy": write_npy,
    "aedat2": write_aedat2,
}
EXTENSIONS = {".dat": "dat", ".bin": "nmnist", ".bs2": "nmnist", ".npy": "npy", ".aedat4": "aedat4"}


def detect_format(path: str | os.PathLike) -> str:
    """The format name of an existing file, from its extension and, for ``.raw``/``.aedat``, its header."""
    path = Path(path)
    ext = path.suffix.lower()
    if ext in EXTENSIONS:
        return EXTENSIONS[ext]
    if not path.is_file():
        raise EventFormatError(path, None, "no such file")
    prefix = read_prefix(path, MAX_HEADER_BYTES)
    if ext == ".aedat" or prefix.startswith(b"#!AER-DAT"):
        if prefix.startswith(b"#!AER-DAT4"):
            return "aedat4"
        if prefix.startswith(b"#!AER-DAT3"):
            return "aedat3"
        if prefix.startswith((b"#!AER-DAT2", b"#!AER-DAT1")):
            return "aedat2"
        raise EventFormatError(path, 0, "AEDAT version not supported (need 1.0/2.0 from jAER, 3.x or 4)")
    if ext == ".raw":
        fmt = parse_header(prefix).format
        if fmt in ("EVT2", "EVT3"):
            return fmt.lower()
        raise EventFormatError(path, 0, f"RAW header does not declare EVT 2.0 or 3.0 (found {fmt!r})")
    raise EventFormatError(path, None, f"unknown event file extension {ext!r}; use --format")


def format_for_output(path: str | os.PathLike, fmt: str | None = None) -> str:
    """The writer for an output path: ``fmt`` if given, else from the extension (``.raw`` → EVT3)."""
    if fmt:
        fmt = fmt.lower()
        if fmt not in WRITERS:
            raise SastLiveError(f"cannot write format {fmt!r}; writable: {', '.join(sorted(WRITERS))}")
        return fmt
    ext = Path(path).suffix.lower()
    if ext == ".raw":
        return "evt3"
    if ext in EXTENSIONS and EXTENSIONS[ext] in WRITERS:
        return EXTENSIONS[ext]
    raise SastLiveError(f"cannot tell the output format from {ext!r}; give --format ({', '.join(sorted(WRITERS))})")


def open_events(path: str | os.PathLike, fmt: str | None = None, sensor_size: SensorSize | None = None,
                chunk_events: int = 1 << 16) -> EventReader:
    """Open an event file for streaming; ``fmt`` overrides detection."""
    fmt = (fmt or detect_format(path)).lower()
    if fmt not in READERS:
        raise SastLiveError(f"unknown format {fmt!r}; readable: {', '.join(sorted(READERS))}")
    return READERS[fmt](path, sensor_size=sensor_size, chunk_events=chunk_events)


def read_events(path, fmt: str | None = None, sensor_size=None) -> np.ndarray:
    """The whole file as one EVENT_DTYPE array."""
    return open_events(path, fmt, sensor_size).read()


def write_events(path, events: np.ndarray, sensor_size=None, fmt: str | None = None) -> int:
    """Write ``events`` in the format named by ``fmt`` or the extension; returns bytes written."""
    return WRITERS[format_for_output(path, fmt)](path, events, sensor_size)


def file_info(path, fmt: str | None = None) -> dict:
    """Format, geometry and event statistics of a file, streamed in chunks (bounded memory)."""
    reader = open_events(path, fmt)
    n = on = 0
    t_first = t_last = None
    for chunk in reader.chunks():
        if t_first is None:
            t_first = int(chunk["t"][0])
        t_last = int(chunk["t"][-1])
        n += len(chunk)
        on += int(np.count_nonzero(chunk["p"]))
    size = reader.sensor_size
    return {
        "path": str(path),
        "format": reader.format,
        "width": None if size is None else size.width,
        "height": None if size is None else size.height,
        "events": n,
        "t_first": t_first,
        "t_last": t_last,
        "duration_us": None if t_first is None else t_last - t_first,
        "on": on,
        "off": n - on,
    }
