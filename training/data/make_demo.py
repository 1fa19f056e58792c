"""Make the bundled demo recording: one held-out test subject performing gestures in one room, with a pause and a
change of lighting, as EVT3 plus IBM-style labels.

Run ``main.py data demo`` to regenerate ``sast_live/assets/demo_gestures.raw`` (it is
committed, so the GUI's default run needs no generation) and ``demo_gestures_labels.csv`` (class 1–11,
start and end in µs; the pause is not a gesture and has no row, as in IBM's files).

The subject is one of :data:`sast_live.synthetic.people.TEST_SUBJECTS`, never seen in training; the scene is
:func:`sast_live.synthetic.people.make_sequence` (one continuous recording, hands moving smoothly between
motions, the DVS state running on).
"""

from __future__ import annotations

from pathlib import Path

from sast_live.errors import SastLiveError
from sast_live.formats.dvs_gesture import gesture_labels_text
from sast_live.formats.evt3 import write_evt3
from sast_live.sources import DEMO
from sast_live.synthetic import people

SUBJECT = people.TEST_SUBJECTS[0]
# (class index, seconds, lighting): three gestures in daylight, a pause, the LED ceiling lights come on, four more
SCRIPT = ((1, 2.5, "natural"), (3, 2.5, "natural"), (0, 2.5, "natural"), (people.IDLE, 3.0, "natural"),
          (7, 2.5, "led"), (8, 2.5, "led"), (5, 2.5, "led"), (9, 2.5, "led"))
MAX_BYTES = 5_000_000


def make_demo(path: Path = DEMO, seed: int = 2026) -> tuple[Path, Path]:
    events, spans = people.make_sequence(people.subject(SUBJECT), SCRIPT, seed)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".part")
    write_evt3(tmp, events, people.SENSOR)
    size = tmp.stat().st_size
    if size > MAX_BYTES:
        tmp.unlink()
        raise SastLiveError(f"the demo would be {size:,} bytes, over {MAX_BYTES:,}: shorten SCRIPT")
    tmp.replace(path)
    labels = path.with_name(path.stem + "_labels.csv")
    labels.write_text(gesture_labels_text([(c, a, b) for c, a, b in spans if c != people.IDLE]))
    return path, labels
