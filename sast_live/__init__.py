"""SAST-Live: event streams, formats, transforms and the live pipeline.

The event contract (DESIGN.md §3) lives in :mod:`sast_live.events`.
"""

from sast_live.errors import EventFormatError, SastLiveError
from sast_live.events import EVENT_DTYPE, SensorSize, check_events, empty_events, make_events

__all__ = [
    "EVENT_DTYPE",
    "EventFormatError",
    "SastLiveError",
    "SensorSize",
    "check_events",
    "empty_events",
    "make_events",
]
__version__ = "0.1.0"
