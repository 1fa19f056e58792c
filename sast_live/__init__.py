"""SAST-Live: event streams, formats, transforms, sources and the live pipeline.

The event contract (DESIGN.md §3) lives in :mod:`sast_live.events`. Its names are re-exported here lazily: the
event checks are numba kernels, and importing this package (every error class lives in it) must not compile or
load numba — ``main.py --help`` stays instant.
"""

from sast_live.errors import EventFormatError, SastLiveError

_FROM_EVENTS = ("EVENT_DTYPE", "SensorSize", "check_events", "empty_events", "make_events")

__all__ = ["EventFormatError", "SastLiveError", *_FROM_EVENTS]
__version__ = "0.1.0"


def __getattr__(name: str):
    if name in _FROM_EVENTS:
        from sast_live import events

        return getattr(events, name)
    raise AttributeError(f"module 'sast_live' has no attribute {name!r}")
