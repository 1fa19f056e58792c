"""Event datasets on disk, all read through one class, :class:`EventDataset` (items: ``(events, label)``).

Layouts understood (nothing is ever downloaded):

* **SAST-Live synthetic** (written by ``python main.py data synth``)::

      DIR/meta.json                         {"dataset", "classes", "sensor_size", "splits": {split: n}, ...}
      DIR/<split>/<label:02d>_<class>/<index:05d>.raw   one EVT3 recording per sample (t from 0 µs)

* **slayer NMNISTsmall** (shared/data/real): ``<id>.bs2`` files with ``train1K.txt`` / ``test100.txt``
  (columns ``#sample #class``).
* **tonic N-MNIST**: ``ROOT/[NMNIST/]{Train,Test}/<label>/<id>.bin``.
* **tonic DVS Gesture**: ``ROOT/[DVSGesture/]ibmGesture{Train,Test}/<user_lighting>/<label>.npy``.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from sast_live.errors import SastLiveError
from sast_live.events import SensorSize, is_sensor_size
from sast_live.formats.dvs_gesture import GESTURE_CLASSES
from sast_live.formats.registry import read_events

META = "meta.json"
NMNIST_CLASSES = tuple(str(d) for d in range(10))


@dataclass(frozen=True)
class EventDataset:
    """A list of labelled event files. ``dataset[i]`` reads file i → ``(events EVENT_DTYPE, label int)``."""

    name: str
    files: tuple[Path, ...]
    labels: tuple[int, ...]
    classes: tuple[str, ...]
    sensor_size: SensorSize
    # per file, who performed it and under which light (``(subject, lighting)``), where the dataset records it
    recordings: tuple[tuple[int, str], ...] | None = None

    def __len__(self) -> int:
        return len(self.files)

    def __getitem__(self, i: int) -> tuple[np.ndarray, int]:
        return read_events(self.files[i], sensor_size=self.sensor_size), self.labels[i]

    def subset(self, indices) -> EventDataset:
        """The files ``indices`` (in that order), with their labels and recordings."""
        idx = [int(i) for i in indices]
        return EventDataset(self.name, tuple(self.files[i] for i in idx), tuple(self.labels[i] for i in idx),
                            self.classes, self.sensor_size,
                            None if self.recordings is None else tuple(self.recordings[i] for i in idx))

    def class_counts(self) -> np.ndarray:
        return np.bincount(np.asarray(self.labels, np.int64), minlength=len(self.classes))


def sample_path(root: Path, split: str, label: int, class_name: str, index: int) -> Path:
    """Where the synthetic writer puts sample ``index`` of class ``label``."""
    return Path(root) / split / f"{label:02d}_{class_name}" / f"{index:05d}.raw"


def _per_class(folders, pattern: str) -> tuple[list[Path], list[int]]:
    """Sorted files matching ``pattern`` in each class folder; the label is the folder's position."""
    files, labels = [], []
    for label, folder in enumerate(folders):
        found = sorted(Path(folder).glob(pattern))
        files += found
        labels += [label] * len(found)
    return files, labels


def _tonic_split_dir(root: str | os.PathLike, wrapper: str, split_name: str, layout: str) -> Path:
    """``root[/wrapper]/split_name`` of a dataset in tonic's layout, checked to exist."""
    root = Path(root)
    split_dir = (root / wrapper if (root / wrapper).is_dir() else root) / split_name
    if not split_dir.is_dir():
        raise SastLiveError(f"{split_dir} not found (expected tonic's {layout} layout)")
    return split_dir


def _read_meta(path: Path) -> dict:
    """A dataset's ``meta.json``, checked for what loading needs: ``dataset`` (text), ``classes`` (a list of text),
    ``splits`` (counts by split) and ``sensor_size`` (two whole numbers 1 … 65,536); else one error naming the
    field."""
    try:
        meta = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise SastLiveError(f"{path}: not readable JSON ({exc})") from None
    if not isinstance(meta, dict):
        raise SastLiveError(f"{path}: not a dataset description (a JSON object was expected)")
    checks = (("dataset", isinstance(meta.get("dataset"), str)),
              ("classes", isinstance(meta.get("classes"), list) and all(isinstance(c, str) for c in meta["classes"])),
              ("splits", isinstance(meta.get("splits"), dict) and all(
                  isinstance(n, int) and not isinstance(n, bool) and n >= 0 for n in meta["splits"].values())),
              ("sensor_size", is_sensor_size(meta.get("sensor_size"))))
    for field, ok in checks:
        if not ok:
            raise SastLiveError(f"{path}: {field} is missing or not what `data synth` writes "
                                f"(got {meta.get(field)!r:.80})")
    return meta


def load_synthetic(root: str | os.PathLike, split: str) -> EventDataset:
    """A split of a dataset written by ``data synth``."""
    root = Path(root)
    meta_path = root / META
    if not meta_path.is_file():
        raise SastLiveError(f"{root} is not a SAST-Live dataset (no {META}); make one with `main.py data synth`")
    meta = _read_meta(meta_path)
    if split not in meta["splits"]:
        raise SastLiveError(f"{root} has no split {split!r}; it has {sorted(meta['splits'])}")
    classes = tuple(meta["classes"])
    files, labels = _per_class([sample_path(root, split, c, name, 0).parent for c, name in enumerate(classes)],
                               "*.raw")
    if len(files) != meta["splits"][split]:
        raise SastLiveError(f"{root}/{split}: {len(files)} files on disk, {meta['splits'][split]} in {META} "
                            "(interrupted generation? run `data synth` again)")
    recordings = None
    if isinstance(meta.get("recordings"), dict) and split in meta["recordings"]:  # gestures-v2: [class][index]
        table = meta["recordings"][split]  # = [subject, lighting]
        try:
            recordings = tuple((int(table[c][int(f.stem)][0]), str(table[c][int(f.stem)][1]))
                               for f, c in zip(files, labels, strict=True))
        except (IndexError, KeyError, TypeError, ValueError):
            raise SastLiveError(f"{meta_path}: its recordings table does not cover {split}'s files (a damaged "
                                "dataset? run `data synth` again)") from None
    return EventDataset(meta["dataset"], tuple(files), tuple(labels), classes, SensorSize(*meta["sensor_size"]),
                        recordings)


def load_nmnist_small(folder: str | os.PathLike, split: str) -> EventDataset:
    """The 1,000 train / 100 test real N-MNIST digits of slayerPytorch's NMNISTsmall."""
    folder = Path(folder)
    listing = folder / {"train": "train1K.txt", "test": "test100.txt"}[split]
    if not listing.is_file():
        raise SastLiveError(f"{listing} not found (expected slayer's NMNISTsmall layout)")
    files, labels = [], []
    for line in listing.read_text().splitlines():
        parts = line.split()
        if len(parts) < 2 or not parts[0].isdigit():
            continue  # the '#sample #class' header
        files.append(folder / f"{parts[0]}.bs2")
        labels.append(int(parts[1]))
    return EventDataset("nmnist-real", tuple(files), tuple(labels), NMNIST_CLASSES, SensorSize(34, 34))


def load_nmnist_tonic(root: str | os.PathLike, split: str) -> EventDataset:
    """Full N-MNIST in tonic's folder layout (``Train``/``Test``, one folder per digit)."""
    split_dir = _tonic_split_dir(root, "NMNIST", {"train": "Train", "test": "Test"}[split], "N-MNIST")
    files, labels = _per_class([split_dir / str(label) for label in range(10)], "*.bin")
    return EventDataset("nmnist", tuple(files), tuple(labels), NMNIST_CLASSES, SensorSize(34, 34))


def load_dvsgesture_tonic(root: str | os.PathLike, split: str) -> EventDataset:
    """Full DVS Gesture in tonic's layout: ``ibmGestureTrain/<user>/<label>.npy`` (x, y, p, t[ms])."""
    split_dir = _tonic_split_dir(root, "DVSGesture", {"train": "ibmGestureTrain", "test": "ibmGestureTest"}[split],
                                 "DVSGesture")
    found = sorted(split_dir.rglob("*.npy"))
    labels = [int(f.stem) for f in found]
    return EventDataset("dvsgesture", tuple(found), tuple(labels), GESTURE_CLASSES, SensorSize(128, 128))


def open_dataset(spec: str | os.PathLike, split: str) -> EventDataset:
    """Resolve a dataset from a folder by its layout (see the module docstring)."""
    root = Path(spec)
    if (root / META).is_file():
        return load_synthetic(root, split)
    if (root / "train1K.txt").is_file():
        return load_nmnist_small(root, split)
    if any((root / d).is_dir() for d in ("NMNIST", "Train")):
        return load_nmnist_tonic(root, split)
    if any((root / d).is_dir() for d in ("DVSGesture", "ibmGestureTrain", "ibmGestureTest")):  # the test part alone
        return load_dvsgesture_tonic(root, split)
    raise SastLiveError(f"{root}: not a dataset folder this tool knows (synthetic meta.json, NMNISTsmall, "
                        "tonic N-MNIST or DVS Gesture layout)")


def limit_dataset(ds: EventDataset, n: int | None) -> EventDataset:
    """The first ``n`` samples in a balanced way (every k-th sample, so the classes stay balanced); all for None."""
    import torch  # the indices as training has always drawn them (float32 linspace, rounded)

    if n is None or n >= len(ds):
        return ds
    # keep classes balanced when cutting: take every k-th sample
    return ds.subset(torch.linspace(0, len(ds) - 1, n).round().long().tolist())
