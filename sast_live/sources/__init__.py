"""Event sources: files (paced replay), serial cameras, USB cameras, synthetic gestures (DESIGN.md §5).

Sources are named by strings (DESIGN.md §9): a file path, ``serial:PORT`` (protocol from the caller),
``edvs:PORT``, ``framed:PORT``, ``dv:`` (first USB camera) or ``dv:NAME``, ``synthetic:gestures``,
``synthetic:people`` or ``synthetic:people:MOTION`` (a stand-in person performing one motion again and again).
"""

from __future__ import annotations

import os
from pathlib import Path

from sast_live.errors import SastLiveError
from sast_live.sources.base import Source, SourceStats
from sast_live.sources.replay import FileSource

__all__ = ["Source", "SourceStats", "FileSource", "open_source", "SERIAL_PREFIXES", "DEMO"]

SERIAL_PREFIXES = ("serial:", "edvs:", "framed:")
#: the bundled demo recording (a held-out synthetic subject: 7 gestures, a pause, a change of light; 128×128, with
#: IBM-style ``_labels.csv`` beside it)
DEMO = Path(__file__).resolve().parents[1] / "assets" / "demo_gestures.raw"


def open_source(spec: str | os.PathLike, *, speed: float | None = 1.0, loop: bool = False, protocol: str = "edvs",
                sensor_size=None, reconnect_s: float = 10.0, baud: int | None = None, seed: int = 0) -> Source:
    """The source ``spec`` names, not yet opened. ``speed``/``loop`` apply to files and synthetic streams."""
    spec = os.fspath(spec)
    kind, _, rest = spec.partition(":")
    if spec.startswith(SERIAL_PREFIXES):
        from sast_live.sources.serial_source import SerialSource
        from sast_live.wire.edvs import BAUD

        if not rest:
            raise SastLiveError(f"{spec!r}: say which port, e.g. {kind}:/dev/ttyUSB0")
        proto = protocol if kind == "serial" else kind
        return SerialSource(rest, proto, sensor_size, baud or BAUD, reconnect_s=reconnect_s)
    if kind == "dv":
        from sast_live.sources.dv_camera import DVCamera

        return DVCamera(rest)
    if kind == "synthetic":
        stream, _, motion = rest.partition(":")
        if stream == "people":
            from sast_live.sources.synthetic import SyntheticPeople

            return SyntheticPeople(motion or None, speed, seed)
        if rest != "gestures":
            raise SastLiveError(f"unknown synthetic stream {rest!r}; available: synthetic:gestures (outlines), "
                                "synthetic:people (a stand-in person, random gestures), synthetic:people:MOTION "
                                "(one motion: a class name, push_both_hands, raise_both_arms or punch_right)")
        from sast_live.sources.synthetic import SyntheticGestures

        return SyntheticGestures(speed, seed)
    if not os.path.exists(spec):
        raise SastLiveError(f"no such file or source: {spec!r} (sources: a file, serial:PORT, edvs:PORT, "
                            "framed:PORT, dv:, synthetic:gestures)")
    return FileSource(spec, speed, loop, sensor_size=sensor_size)
