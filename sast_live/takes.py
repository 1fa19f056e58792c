"""Labelled takes: a dataset a user records from any source to teach a model gestures of their own.

``main.py record SOURCE --label CLASS --dataset DIR`` and the GUI's teach panel write it; ``main.py train
--init-from CKPT --dataset DIR`` fine-tunes on it. The layout is the one ``data synth`` writes, so the training
side reads it like any dataset::

    DIR/meta.json                                  {"dataset": "sast-live-takes", "classes", "sensor_size",
                                                    "splits": {"train": n, "test": m}, "base_model", ...}
    DIR/<split>/<label:02d>_<class>/<index:05d>.raw           one take (EVT3, t from 0 µs)
    DIR/<split>/<label:02d>_<class>/<index:05d>_labels.csv    IBM-style: class (1-based), start, end (µs)

The class list starts as the base model's (so label k is the model's output k) and a new name is appended.
Take ``index`` of a class goes to the held-out ``test`` split when ``index % TEST_EVERY == TEST_EVERY - 1`` (one
take in four, chosen by position, never by content). Every write is atomic (a temporary file, then a rename),
and ``meta.json`` is recomputed from the files on disk after each change, so a crash never loses a take or leaves
the count wrong.
"""

from __future__ import annotations

import json
import os
import re
import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from sast_live.errors import SastLiveError
from sast_live.events import is_sensor_size

DATASET = "sast-live-takes"
META = "meta.json"
TEST_EVERY = 4
SPLITS = ("train", "test")
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,39}")  # the whole name (fullmatch: no trailing newline slips by)


class EmptyTake(SastLiveError):
    """A take with no events (nothing moved, or the source sent nothing): worth recording again, unlike a take
    that could not be written."""


def check_class_name(name: str) -> str:
    """``name`` if it is a valid class (and folder) name: letters, digits, ``_`` and ``-``, at most 40, starting
    with a letter or digit; else a SastLiveError saying so."""
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        raise SastLiveError(f"class name {name!r} is not a valid folder name: use letters, digits, '_' and '-' "
                            "(at most 40, starting with a letter or digit), e.g. push_both_hands")
    return name


@dataclass(frozen=True)
class Take:
    label: int  # class index (the model's output index)
    name: str  # class name
    split: str  # "train" or "test" (held out)
    index: int  # the take's number within its class
    path: Path

    @property
    def labels_csv(self) -> Path:
        return self.path.with_name(f"{self.path.stem}_labels.csv")


_META_LOCK = threading.Lock()


def _tmp_name(path: Path) -> Path:
    """A temporary name beside ``path`` no other process or thread uses at the same time."""
    return path.with_name(f"{path.name}.tmp{os.getpid()}-{threading.get_ident()}")


def atomic_write_text(path: Path, text: str) -> None:
    """``text`` into ``path`` through a temporary file and a rename: never a half-written file."""
    tmp = _tmp_name(path)
    try:
        tmp.write_text(text)
        tmp.replace(path)
    finally:
        tmp.unlink(missing_ok=True)  # a failed write (a full disk) leaves no temporary file behind


def _check_meta(path: Path, meta: dict) -> None:
    """A takes folder's ``meta.json`` as :meth:`TakeSet.open_or_create` writes it: valid, distinct class names (they
    become folder names) and a sensor size of two whole numbers 1 … 65,536; else one error naming the field."""
    for name in meta["classes"]:
        try:
            check_class_name(name)
        except SastLiveError as exc:
            raise SastLiveError(f"{path}: {exc}") from None
    if len(set(meta["classes"])) != len(meta["classes"]):
        raise SastLiveError(f"{path}: a class is listed twice in {meta['classes']}")
    if not is_sensor_size(meta.get("sensor_size")):
        raise SastLiveError(f"{path}: sensor_size must be [width, height] in pixels, got {meta.get('sensor_size')!r}")



class TakeSet:
    """The takes in folder ``root`` (see the module's docstring). Create with :meth:`open_or_create`."""

    def __init__(self, root: Path, meta: dict):
        self.root, self.meta = Path(root), meta

    @property
    def classes(self) -> tuple[str, ...]:
        return tuple(self.meta["classes"])

    @property
    def sensor_size(self) -> tuple[int, int]:
        return tuple(self.meta["sensor_size"])

    @classmethod
    def open(cls, root: str | os.PathLike) -> TakeSet:
        root = Path(root)
        meta_path = root / META
        if not meta_path.is_file():
            raise SastLiveError(f"{root} holds no takes (no {META}); record some with `main.py record SOURCE "
                                f"--label CLASS --dataset {root}`")
        try:
            meta = json.loads(meta_path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise SastLiveError(f"{meta_path}: not readable JSON ({exc})") from exc
        if not isinstance(meta, dict) or meta.get("dataset") != DATASET or not isinstance(meta.get("classes"), list):
            kind = meta.get("dataset") if isinstance(meta, dict) else None
            raise SastLiveError(f"{root} is a {kind!r} dataset, not a folder of takes; choose another --dataset")
        _check_meta(meta_path, meta)
        takes = cls(root, meta)
        if meta.get("splits") != takes._counts():  # a take written just before a crash, its count not yet
            try:
                takes._write_meta()
            except OSError:  # a full disk or a read-only folder: the counts are right in memory; reading needs no write
                takes.meta["splits"] = takes._counts()
        return takes

    @classmethod
    def open_or_create(cls, root: str | os.PathLike, sensor_size, base_classes=(), base_model: str | None = None
                       ) -> TakeSet:
        """The takes in ``root``, checked to be of ``sensor_size`` (width, height); a new folder starts with the
        classes ``base_classes`` (the base model's, in its order)."""
        root = Path(root)
        size = [int(sensor_size[0]), int(sensor_size[1])]
        if (root / META).is_file():
            takes = cls.open(root)
            if list(takes.sensor_size) != size:
                raise SastLiveError(f"{root} holds takes of a {takes.sensor_size[0]}x{takes.sensor_size[1]} sensor; "
                                    f"this source is {size[0]}x{size[1]}: use another --dataset")
            return takes
        if root.exists() and any(root.iterdir()):
            raise SastLiveError(f"{root} exists and is not a folder of takes; choose a new or empty --dataset")
        for name in base_classes:
            check_class_name(name)
        meta = {"dataset": DATASET, "classes": list(base_classes), "sensor_size": size,
                "splits": {s: 0 for s in SPLITS}, "base_model": base_model,
                "format": "EVT3 .raw per take, t from 0 µs; layout <split>/<label:02d>_<class>/<index:05d>.raw "
                          "with <index:05d>_labels.csv (IBM style) beside it; every 4th take of a class is test"}
        root.mkdir(parents=True, exist_ok=True)
        takes = cls(root, meta)
        takes._write_meta()
        return takes

    def label_of(self, name: str, add: bool = False) -> int:
        """The class index of ``name``; with ``add``, a new name is appended to the classes."""
        check_class_name(name)
        if name in self.classes:
            return self.classes.index(name)
        if not add:
            raise SastLiveError(f"{self.root} has no class {name!r}; it has {', '.join(self.classes)}")
        self.meta["classes"] = [*self.classes, name]
        self._write_meta()
        return len(self.classes) - 1

    def folder(self, split: str, label: int) -> Path:
        return self.root / split / f"{label:02d}_{self.classes[label]}"

    def takes(self) -> list[Take]:
        """Every take on disk, by class, then index."""
        out = []
        for label, name in enumerate(self.classes):
            for split in SPLITS:
                for f in sorted(self.folder(split, label).glob("*.raw")):
                    if f.stem.isdigit():
                        out.append(Take(label, name, split, int(f.stem), f))
        return sorted(out, key=lambda t: (t.label, t.index))

    def counts(self) -> dict[str, dict[str, int]]:
        """``{class: {"train": n, "test": m}}`` for every class."""
        out = {name: {s: 0 for s in SPLITS} for name in self.classes}
        for t in self.takes():
            out[t.name][t.split] += 1
        return out

    def add(self, events: np.ndarray, name: str) -> Take:
        """Store ``events`` (EVENT_DTYPE, any t origin) as the next take of class ``name`` (a new name is
        appended to the classes); a take with no events is refused."""
        from sast_live.formats.dvs_gesture import gesture_labels_text
        from sast_live.formats.evt3 import write_evt3

        if len(events) == 0:
            raise EmptyTake(f"the take of {name!r} has no events: nothing moved in front of the camera, or "
                            "the source sent nothing; it was not stored")
        label = self.label_of(name, add=True)
        taken = [t.index for t in self.takes() if t.label == label]
        index = max(taken) + 1 if taken else 0
        split = "test" if index % TEST_EVERY == TEST_EVERY - 1 else "train"
        path = self.folder(split, label) / f"{index:05d}.raw"
        take = Take(label, name, split, index, path)
        ev = events.copy()
        ev["t"] -= int(ev["t"][0])
        tmp = _tmp_name(path)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            write_evt3(tmp, ev, self.sensor_size)
            atomic_write_text(take.labels_csv, gesture_labels_text([(label, 0, int(ev["t"][-1]) + 1)]))
            tmp.replace(path)
            self._write_meta()
        except OSError as exc:  # a full disk, a read-only folder: the take is not kept half-written, nor counted
            for leftover in (tmp, take.labels_csv, path):
                leftover.unlink(missing_ok=True)
            raise SastLiveError(f"the take of {name!r} could not be stored in {self.root}: {exc.strerror or exc}") \
                from None
        return take

    def delete(self, take: Take) -> None:
        """Remove one take (and its labels file)."""
        take.path.unlink(missing_ok=True)
        take.labels_csv.unlink(missing_ok=True)
        self._write_meta()

    def _counts(self) -> dict[str, int]:
        counts = {s: 0 for s in SPLITS}
        for t in self.takes():
            counts[t.split] += 1
        return counts

    def _write_meta(self) -> None:
        with _META_LOCK:  # the panel's list (open) and a take being stored (reader thread) may both recount
            self.meta["splits"] = self._counts()
            atomic_write_text(self.root / META, json.dumps(self.meta, indent=2))


class TakeCollector:
    """The next ``seconds`` of a stream (by the events' clock) as one take of ``name``, stored into ``takes``.

    Fed chunk by chunk with :meth:`write` (on the source's reader thread in the GUI, a runner's tap; in a loop by
    :func:`sast_live.recorder.record_takes`). The take starts at ``start`` (µs on the stream's clock; None: the first
    event it sees) and ends ``seconds`` later; once an event at or past the end arrives the take is stored,
    :attr:`take` or :attr:`error` says how, and ``done(take, error)`` is called once, on the feeding thread."""

    def __init__(self, takes: TakeSet, name: str, seconds: float, done=None, start: int | None = None):

        check_class_name(name)
        if not seconds > 0:
            raise SastLiveError(f"a take must last more than 0 s, got {seconds}")
        self.takes, self.name, self.length, self.done = takes, name, int(round(seconds * 1e6)), done
        self.start = start
        self.parts: list[np.ndarray] = []
        self.finished = False
        self.take: Take | None = None
        self.error: str | None = None
        self.empty = False  # the error was an empty take (worth recording again), not a failure to store it
        self._lock = threading.Lock()

    @property
    def end(self) -> int | None:
        """The take's end (µs, exclusive) once its start is known."""
        return None if self.start is None else self.start + self.length

    def write(self, chunk: np.ndarray) -> np.ndarray:
        """Take what of ``chunk`` falls in the take; returns the events after its end (empty while it goes on)."""
        with self._lock:
            if self.finished or len(chunk) == 0:
                return chunk[:0]
            if self.start is None:
                self.start = int(chunk["t"][0])
            t = chunk["t"]
            self.parts.append(chunk[(t >= self.start) & (t < self.end)])
            if int(t[-1]) < self.end:
                return chunk[:0]
            self.finished = True
        self._store()
        return chunk[t >= self.end]

    def stop(self) -> None:
        """End the take now (a held key or button let go): what arrived so far is stored (a take with no events
        is refused, as always); nothing happens if it has ended already. Any thread."""
        with self._lock:
            if self.finished:
                return
            self.finished = True
        self._store()

    def _store(self) -> None:
        """Store the parts (once, after ``finished`` was set under the lock) and tell ``done``."""
        from sast_live.events import EVENT_DTYPE, concat

        try:
            events = concat(self.parts) if self.parts else np.zeros(0, EVENT_DTYPE)
            self.take = self.takes.add(events, self.name)
        except (SastLiveError, OSError) as exc:
            self.error, self.empty = str(exc), isinstance(exc, EmptyTake)
        self.parts = []
        if self.done is not None:
            self.done(self.take, self.error)


#: what a fine-tuning on takes writes beside its checkpoint (``training.finetune.report``)
FINETUNE_SUMMARY = "finetune.json"


def finetune_lines(summary: dict) -> list[str]:
    """What a fine-tuning on takes measured (its :data:`FINETUNE_SUMMARY`), one short line per new class and one for
    the old classes: what ``train`` prints at the end and the Teach panel shows."""
    lines = []
    for name, v in summary.get("held_out_takes", {}).items():
        st = summary.get("held_out_takes_streaming", {}).get(name, {})
        lines.append(f"held-out takes of {name}: {round(v['int8_accuracy'] * v['n'])}/{v['n']} right (INT8), "
                     f"{st.get('naming_it', 0)}/{st.get('windows', 0)} streamed windows name it")
    old = summary.get("old_classes")
    if old:
        of = f" of {old['dataset']}" if old.get("dataset") else ""
        lines.append(f"old classes: {old['int8_before']:.1%} → {old['int8_after']:.1%} (INT8, {old['n']} "
                     f"{old.get('what', 'test recordings')}{of})")
    val = summary.get("old_classes_validation")
    if val:
        lines.append(f"old classes on their {val['n']} validation windows: {val['base']:.1%} → {val['after']:.1%}"
                     + ("" if val["held"] or not val.get("warning") else f". Warning: {val['warning']}"))
    return lines

