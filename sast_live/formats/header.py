"""Parsing of the ``% key value`` text headers of Prophesee RAW and DAT files.

Geometry comes from the header when it is there (``% format EVT3;width=1280;height=720``,
``% geometry 1280x720``, ``% Width``/``% Height``) and otherwise from the camera plug-in named in it
(``% plugin_name hal_plugin_gen41_evk3`` → Gen4.1 HD 1280×720), a table of Prophesee's sensors. Nothing
is guessed from the event coordinates; when neither is present the geometry is unknown (None).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from sast_live.events import SensorSize

# Prophesee camera plug-ins and the sensor each one drives.
PLUGIN_GEOMETRY = {
    "gen3": SensorSize(640, 480),  # Gen3 VGA (hal_plugin_gen3_fx3, ...)
    "gen31": SensorSize(640, 480),  # Gen3.1 VGA
    "gen4": SensorSize(1280, 720),  # Gen4 HD
    "gen41": SensorSize(1280, 720),  # Gen4.1 HD (hal_plugin_gen41_evk3, ...)
    "imx636": SensorSize(1280, 720),
    "imx646": SensorSize(1280, 720),
    "genx320": SensorSize(320, 320),
    "imx8": SensorSize(320, 320),
}

MAX_HEADER_BYTES = 1 << 20  # a header longer than 1 MiB is not a header


@dataclass(frozen=True)
class Header:
    """A parsed text header. ``size`` is the byte offset where binary data starts."""

    size: int
    lines: tuple[str, ...] = ()
    fields: dict = field(default_factory=dict)
    format: str | None = None  # "EVT2", "EVT3", ... as declared
    sensor_size: SensorSize | None = None


def read_header_bytes(data: bytes) -> tuple[int, list[str]]:
    """Split the leading ``%`` lines off ``data``; returns (header size in bytes, lines without '% ')."""
    pos = 0
    lines = []
    while pos < len(data) and data[pos : pos + 1] == b"%":
        end = data.find(b"\n", pos)
        if end < 0:
            end = len(data) - 1
        line = data[pos + 1 : end].decode("latin-1").strip()
        pos = end + 1
        if line == "end":  # newer Metavision files close the header explicitly
            break
        lines.append(line)
    return pos, lines


def _int_or_none(text: str) -> int | None:
    """A header number, or None when the text is not one (a damaged header must not crash the reader)."""
    text = text.strip()
    return int(text) if text.isdigit() and len(text) < 10 else None


def parse_header(data: bytes) -> Header:
    """Parse the ``%`` header at the start of ``data`` (the first bytes of a file)."""
    size, lines = read_header_bytes(data)
    fields: dict[str, str] = {}
    for line in lines:
        key, _, value = line.partition(" ")
        fields[key.lower()] = value.strip()
    fmt = None
    width = height = None
    if "format" in fields:  # "% format EVT3;height=720;width=1280"
        parts = fields["format"].split(";")
        fmt = parts[0].strip().upper()
        for part in parts[1:]:
            k, _, v = part.partition("=")
            if k.strip() == "width":
                width = _int_or_none(v)
            elif k.strip() == "height":
                height = _int_or_none(v)
    if fmt is None and "evt" in fields:  # "% evt 3.0"
        fmt = {"2.0": "EVT2", "2.1": "EVT21", "3.0": "EVT3"}.get(fields["evt"], "EVT" + fields["evt"])
    if width is None and "geometry" in fields:
        m = re.fullmatch(r"(\d+)\s*x\s*(\d+)", fields["geometry"])
        if m:
            width, height = int(m.group(1)), int(m.group(2))
    if width is None and "width" in fields and "height" in fields:
        width, height = _int_or_none(fields["width"]), _int_or_none(fields["height"])
    ok = width is not None and height is not None and 0 < width < 32768 and 0 < height < 32768
    sensor = SensorSize(width, height) if ok else None
    if sensor is None and "plugin_name" in fields:
        m = re.search(r"hal_plugin_([a-z]+\d*)", fields["plugin_name"].lower())
        if m and m.group(1) in PLUGIN_GEOMETRY:
            sensor = PLUGIN_GEOMETRY[m.group(1)]
    return Header(size=size, lines=tuple(lines), fields=fields, format=fmt, sensor_size=sensor)


def format_header(fmt: str, sensor_size: SensorSize | None, extra: dict | None = None) -> bytes:
    """A Metavision-style RAW header declaring ``fmt`` and the geometry, closed by ``% end``."""
    lines = []
    if sensor_size is not None:
        lines.append(f"% format {fmt};height={sensor_size.height};width={sensor_size.width}")
        lines.append(f"% geometry {sensor_size.width}x{sensor_size.height}")
    else:
        lines.append(f"% format {fmt}")
    lines.append(f"% evt {fmt[3] + '.' + (fmt[4:] or '0')}")
    lines.append("% integrator_name SAST-Live")
    for k, v in (extra or {}).items():
        lines.append(f"% {k} {v}")
    lines.append("% end")
    return ("\n".join(lines) + "\n").encode("ascii")
