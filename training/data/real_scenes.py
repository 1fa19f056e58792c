"""The real recordings of things that are not gestures, split once: which ones training may see, which are kept
for test only — and the documented rules that put a real recording onto the gesture model's 128×128 sensor.

Declared split (``../shared/data/real``; every file was recorded by a physical sensor, see its SOURCES.md):

* **training** (:data:`TRAINING`): the two Prophesee Gen3 scenes (sparklers, ``evt2_sample``), the Gen4 scene
  ``evt3_sample`` and the N-MNIST training digits (ids 1–1000, ATIS saccades) — mixed into gestures-v3 as
  real no-gesture scenes and as small real distractors;
* **held out** (:data:`HELD_OUT`, test only; never read by training or by any choice made on validation data):
  both N-CARS samples (ATIS), Prophesee's pedestrians (Gen4) and the DVXplorer recording of a person's head and
  shoulders, plus the 100 N-MNIST test digits (ids 60001–60100). The no-gesture evaluation's criterion is
  measured on these.

**Mapping a recording to 128×128**: ``pooled`` — its sensor (or, when the file does not say, the extent of its
events) is pooled by the smallest integer ``k`` with ``max(W, H) / k ≤ 128`` (``x // k``, ``y // k``, every event
kept) and centred; ``centre crop`` — the events of the middle 128×128 pixels. Times start at 0.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import numpy as np

from sast_live.events import SensorSize, make_events, sensor_or_extent
from sast_live.transforms.fit import fit_events

SENSOR = SensorSize(128, 128)
TRAINING = {"sparklers (EVT2)": "expelliarmus/sparklers.raw",
            "Gen3 scene (EVT2)": "expelliarmus/evt2_sample.raw",
            "Gen4 scene (EVT3)": "expelliarmus/evt3_sample.raw"}
TRAINING_DIGITS = range(1, 1001)  # N-MNIST training ids (slayer-nmnist/NMNISTsmall/<id>.bs2)
HELD_OUT = {"N-CARS sample (tonic)": "tonic/sample_ncars.dat",
            "N-CARS obj_004397": "expelliarmus/NCARS_obj_004397_td.dat",
            "pedestrians (EVT3)": "expelliarmus/evt3_test_pedestrians.raw",
            "person, head and shoulders (DVXplorer)": "tonic/sample.aedat4"}
HELD_OUT_DIGITS = range(60001, 60101)


def _from_zero(events: np.ndarray) -> np.ndarray:
    return make_events(events["t"] - events["t"][0], events["x"], events["y"], events["p"])


def to_128(events: np.ndarray, sensor: SensorSize | None) -> np.ndarray:
    """The documented rule (the app's ``--fit pool``): pool by the smallest integer k that fits 128×128, centre,
    times from 0."""
    return _from_zero(fit_events(events, sensor_or_extent(sensor, events), SENSOR, "pool"))


def centre_crop(events: np.ndarray, sensor: SensorSize | None) -> np.ndarray | None:
    """The events of the middle 128×128 pixels of a larger sensor (the app's ``--fit crop``), at full resolution,
    times from 0 (None for a sensor no larger than 128×128, or when the middle holds no events)."""
    if sensor is None or (sensor.width <= 128 and sensor.height <= 128):
        return None
    ev = fit_events(events, sensor, SENSOR, "crop")
    return _from_zero(ev) if len(ev) else None


def views_128(path: Path) -> list[np.ndarray]:
    """A real file on 128×128: pooled, and (for a larger sensor) its centre crop."""
    from sast_live.formats.registry import open_events

    reader = open_events(path)
    events = reader.read()
    crop = centre_crop(events, reader.sensor_size)
    return [to_128(events, reader.sensor_size)] + ([crop] if crop is not None else [])


def digit_clip(path: Path) -> np.ndarray:
    """An N-MNIST digit (34×34 ATIS) placed in the middle of the 128×128 sensor, times from 0."""
    from sast_live.formats.registry import read_events

    ev = read_events(path)
    return make_events(ev["t"] - ev["t"][0], ev["x"].astype(np.int64) + 47, ev["y"].astype(np.int64) + 47, ev["p"])


@lru_cache(maxsize=2)
def training_clips(shared: str, digits: int = 200) -> dict:
    """The training side of the split as gestures-v3 takes it: ``{"small": digits, "scene": scenes and digits}``
    (EVENT_DTYPE on 128×128, t from 0); ``digits`` of the training ids, evenly spread. Empty lists where the
    files are missing (the generator then falls back to synthetic content)."""
    root = Path(shared)
    scenes = [v for rel in TRAINING.values() if (root / rel).is_file() for v in views_128(root / rel)]
    folder = root / "slayer-nmnist" / "NMNISTsmall"
    ids = [TRAINING_DIGITS[i] for i in np.linspace(0, len(TRAINING_DIGITS) - 1, digits).round().astype(int)]
    small = [digit_clip(folder / f"{i}.bs2") for i in ids if (folder / f"{i}.bs2").is_file()]
    return {"small": small, "scene": scenes + small[::4]}
