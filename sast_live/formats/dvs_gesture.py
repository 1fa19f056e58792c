"""IBM DVS128 Gesture: the class names and the cutting of an AEDAT 3.1 recording into labelled gestures.

Each ``userNN_<lighting>.aedat`` comes with ``userNN_<lighting>_labels.csv`` whose rows are
``class,startTime_usec,endTime_usec`` (classes 1–11). A gesture is the events with ``start <= t < end``.
"""

from __future__ import annotations

import csv
import os
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from sast_live.errors import EventFormatError
from sast_live.formats.aedat import AEDAT31Reader

GESTURE_CLASSES = (
    "hand_clap",
    "right_hand_wave",
    "left_hand_wave",
    "right_arm_clockwise",
    "right_arm_counter_clockwise",
    "left_arm_clockwise",
    "left_arm_counter_clockwise",
    "arm_roll",
    "air_drums",
    "air_guitar",
    "other_gestures",
)


def labels_path_for(aedat_path: str | os.PathLike) -> Path:
    """``user01_fluorescent.aedat`` → ``user01_fluorescent_labels.csv`` (IBM's naming)."""
    p = Path(aedat_path)
    return p.with_name(p.stem + "_labels.csv")


def gesture_labels_text(rows) -> str:
    """An IBM ``_labels.csv`` (header, then ``class,start,end`` with classes from 1) of ``rows`` ``(class_index 0 …,
    start_us, end_us)`` — what :func:`read_gesture_labels` reads back."""
    return "class,startTime_usec,endTime_usec\n" + "".join(f"{c + 1},{a},{b}\n" for c, a, b in rows)


def read_gesture_labels(path: str | os.PathLike, n_classes: int = len(GESTURE_CLASSES)
                        ) -> list[tuple[int, int, int]]:
    """Rows ``(class_index 0 … n_classes − 1, start_us, end_us)`` of an IBM ``_labels.csv`` (classes from 1 there;
    more than IBM's 11 for a model taught new ones)."""
    path = Path(path)
    if not path.is_file():
        raise EventFormatError(path, None, "label file not found")
    rows = []
    with open(path, newline="") as fh:
        for line_no, row in enumerate(csv.reader(fh), start=1):
            if not row or not row[0].strip() or not row[0].strip().lstrip("-").isdigit():
                continue  # the header line ("class,startTime_usec,endTime_usec") and blank lines
            try:
                cls, start, end = (int(v) for v in row[:3])
            except ValueError as exc:
                raise EventFormatError(path, None, f"line {line_no}: not three integers: {row}") from exc
            if not 1 <= cls <= n_classes or end <= start:
                raise EventFormatError(path, None, f"line {line_no}: bad label {row}")
            rows.append((cls - 1, start, end))
    return rows


def cut_gestures(aedat_path: str | os.PathLike, labels_csv: str | os.PathLike | None = None
                 ) -> Iterator[tuple[int, np.ndarray]]:
    """Yield ``(class_index, events)`` for each labelled gesture of an IBM recording, in label order.

    The recording is streamed once per label (labels are few and recordings hold tens of MB), so memory is
    bounded by one gesture.
    """
    labels = read_gesture_labels(labels_csv or labels_path_for(aedat_path))
    reader = AEDAT31Reader(aedat_path)
    for cls, start, end in labels:
        parts = []
        for _, _, ev in reader.windows(end - start, t_start=start, t_end=end):
            parts.append(ev)
        yield cls, (np.concatenate(parts) if parts else reader.read()[:0])
