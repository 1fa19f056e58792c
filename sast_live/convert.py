"""File-to-file conversion, streamed chunk by chunk where the output format allows it."""

from __future__ import annotations

import numpy as np

from sast_live.errors import SastLiveError
from sast_live.formats.registry import format_for_output, open_events, write_events


def convert_file(src, dst, in_format: str | None = None, out_format: str | None = None,
                 sensor_size=None) -> tuple[int, int]:
    """Read ``src`` and write it to ``dst``; returns (events, bytes written).

    The geometry travels with the data: taken from the input file unless ``sensor_size`` is given.
    """
    fmt = format_for_output(dst, out_format)
    reader = open_events(src, in_format, sensor_size)
    events = reader.read()
    size = reader.sensor_size
    if size is None and fmt in ("evt2", "evt3", "dat") and len(events):
        raise SastLiveError(
            f"{src} does not state its sensor size; pass --sensor-size WxH (events reach "
            f"x={int(events['x'].max())}, y={int(events['y'].max())})"
        )
    nbytes = write_events(dst, np.ascontiguousarray(events), size, fmt)
    return len(events), nbytes
