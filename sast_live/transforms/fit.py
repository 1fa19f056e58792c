"""Putting a larger sensor's events onto the model's sensor: what lets a 128×128 gesture model watch a DAVIS346,
a DVXplorer or a Prophesee camera (``--fit pool|crop``).

* ``pool`` — the whole view, coarser: pixels pooled by the smallest integer ``k`` with ``W / k ≤ w`` and
  ``H / k ≤ h`` (``x // k``, ``y // k``, every event kept) and centred on the model's sensor;
* ``crop`` — the middle ``w × h`` pixels at full resolution (what a smaller sensor at that spot would see: objects
  as large as on the big one); the other events are dropped.

Times and polarities are kept. A sensor no larger than the model's in both directions is centred unchanged.
"""

from __future__ import annotations

import math

import numpy as np

from sast_live.errors import SastLiveError

FITS = ("pool", "crop")  # (importing this module loads no numba: the command line's help reads FITS)


def fit_events(events: np.ndarray, source, target, how: str) -> np.ndarray:
    """``events`` of a ``source`` (width, height) sensor on a ``target`` one, by ``how`` (``pool`` or ``crop``);
    a new EVENT_DTYPE array in the same order."""
    from sast_live.events import make_events

    if how not in FITS:
        raise SastLiveError(f"--fit must be one of {', '.join(FITS)}, got {how!r}")
    (w, h), (tw, th) = (int(source[0]), int(source[1])), (int(target[0]), int(target[1]))
    x, y = events["x"].astype(np.int64), events["y"].astype(np.int64)
    if how == "pool":
        k = max(1, math.ceil(w / tw), math.ceil(h / th))
        x, y = x // k + (tw - math.ceil(w / k)) // 2, y // k + (th - math.ceil(h / k)) // 2
    else:
        x, y = x - (w - tw) // 2, y - (h - th) // 2
    keep = (x >= 0) & (x < tw) & (y >= 0) & (y < th)
    return make_events(events["t"][keep], x[keep], y[keep], events["p"][keep])
