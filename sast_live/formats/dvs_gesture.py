"""IBM DVS128 Gesture: the class names and the cutting of an AEDAT 3.1 recording into labelled gestures.

Each ``userNN_<lighting>.aedat`` comes with ``userNN_<lighting>_labels.csv`` whose rows are
``class,startTime_usec,endTime_usec`` (classes 1–11). A gesture is the events with ``start <= t < end``.
"""

from __future__ import annotations

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


#: a labels file larger than this, or with more rows, is refused before it is parsed (IBM's hold 11–30 rows)
MAX_LABEL_BYTES = 16 << 20
MAX_LABEL_ROWS = 100_000
HEADER = ("class", "starttime_usec", "endtime_usec")


def read_gesture_labels(path: str | os.PathLike, n_classes: int = len(GESTURE_CLASSES)
                        ) -> list[tuple[int, int, int]]:
    """Rows ``(class_index 0 … n_classes − 1, start_us, end_us)`` of an IBM ``_labels.csv`` (classes from 1 there;
    more than IBM's 11 for a model taught new ones), in file order.

    The rules (each broken one is an :class:`EventFormatError` naming the line): UTF-8 text (a byte-order mark is
    allowed), at most :data:`MAX_LABEL_BYTES` and :data:`MAX_LABEL_ROWS` rows; an optional header
    ``class,startTime_usec,endTime_usec`` as the first line (any case); then one ``class,start,end`` row per line —
    whole non-negative decimal numbers of at most 18 digits, no signs, decimals or quotes, spaces around them ignored,
    blank lines skipped; a class in 1 … ``n_classes``; ``end > start`` (a zero-length interval labels nothing); no
    two intervals overlapping; at least one row."""
    path = Path(path)
    if not path.is_file():
        raise EventFormatError(path, None, "label file not found")
    if path.stat().st_size > MAX_LABEL_BYTES:
        raise EventFormatError(path, None, f"a labels file of {path.stat().st_size:,} bytes (at most "
                                           f"{MAX_LABEL_BYTES:,}: IBM's hold a few hundred)")
    data = path.read_bytes()
    if b"\0" in data:
        raise EventFormatError(path, data.index(b"\0"), "binary data, not a labels text file")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise EventFormatError(path, exc.start, "not UTF-8 text (save the labels file as UTF-8)") from None
    lines = text.splitlines()
    if len(lines) > MAX_LABEL_ROWS + 1:
        raise EventFormatError(path, None, f"{len(lines):,} lines (at most {MAX_LABEL_ROWS:,} labels)")
    rows, lines_of = [], []
    for line_no, line in enumerate(lines, start=1):
        fields = [f.strip() for f in line.split(",")]
        if fields == [""]:
            continue
        if not rows and line_no == 1 and tuple(f.lower() for f in fields) == HEADER:
            continue
        if len(fields) != 3 or not all(f.isascii() and f.isdigit() and len(f) <= 18 for f in fields):
            shown = line if len(line) <= 60 else line[:60] + "…"
            raise EventFormatError(path, None, f"line {line_no}: {shown!r} is not class,start_us,end_us in whole "
                                               "numbers (the header, if any, must be the first line)")
        cls, start, end = (int(f) for f in fields)
        if not 1 <= cls <= n_classes:
            raise EventFormatError(path, None, f"line {line_no}: class {cls} (the model has classes 1–{n_classes})")
        if end <= start:
            raise EventFormatError(path, None, f"line {line_no}: the interval {start}–{end} µs is empty or "
                                               "reversed (end must be after start)")
        rows.append((cls - 1, start, end))
        lines_of.append(line_no)
    if not rows:
        raise EventFormatError(path, None, "no labels in it (only a header or blank lines)")
    order = sorted(range(len(rows)), key=lambda i: rows[i][1])
    for i, j in zip(order, order[1:], strict=False):
        if rows[j][1] < rows[i][2]:
            raise EventFormatError(path, None, f"line {lines_of[j]} overlaps line {lines_of[i]} "
                                               f"({rows[j][1]}–{rows[j][2]} µs and {rows[i][1]}–{rows[i][2]} µs)")
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
