"""Make the bundled demo recording: a few synthetic gestures back to back, as EVT3 plus IBM-style labels.

Run ``python -m training.data.make_demo`` to regenerate ``sast_live/assets/demo_gestures.raw`` (it is
committed, so the GUI's default run needs no generation) and ``demo_gestures_labels.csv``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from sast_live.formats.evt3 import write_evt3
from sast_live.sources import DEMO
from sast_live.synthetic import gestures as synth_gestures

# (class index, seconds): a wave, circles both ways, a roll, a clap
SCRIPT = ((1, 2.0), (3, 2.0), (6, 2.0), (7, 2.0), (0, 2.0))
GAP_US = 200_000  # a short pause between gestures


def make_demo(path: Path = DEMO, seed: int = 2026) -> tuple[Path, Path]:
    parts, rows, t0 = [], [], 0
    for k, (cls, seconds) in enumerate(SCRIPT):
        ev = synth_gestures.make_sample(cls, seed + k, duration_s=seconds)
        ev["t"] += t0
        parts.append(ev)
        rows.append((cls + 1, t0, t0 + int(seconds * 1e6)))
        t0 += int(seconds * 1e6) + GAP_US
    events = np.concatenate(parts)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_evt3(path, events, synth_gestures.SENSOR)
    labels = path.with_name(path.stem + "_labels.csv")
    labels.write_text("class,startTime_usec,endTime_usec\n" + "".join(f"{c},{a},{b}\n" for c, a, b in rows))
    return path, labels


if __name__ == "__main__":
    p, lab = make_demo()
    print(f"wrote {p} ({p.stat().st_size} bytes) and {lab}")
