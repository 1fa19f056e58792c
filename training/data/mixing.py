"""Fine-tuning without forgetting: the user's takes plus samples of the classes the base model already knows.

A model fine-tuned on a few takes of one new gesture forgets the others unless they stay in the data. The base
checkpoint names the dataset it was trained on (``train_cfg.dataset``); :func:`with_old_classes` adds ``n``
training recordings of each of its classes, spread evenly over that split (so over its subjects and lightings),
relabelled by class name into the takes' class list. Only training splits are read; the base model's test
recordings stay unseen, so the old classes can still be measured on them afterwards.
"""

from __future__ import annotations

import numpy as np

from sast_live.errors import SastLiveError
from training.data.datasets import EventDataset


def pick_per_class(labels, n: int) -> np.ndarray:
    """Indices of ``n`` samples of every class in ``labels`` (all of a class with fewer), evenly spaced."""
    labels = np.asarray(labels)
    out = []
    for c in np.unique(labels):
        members = np.flatnonzero(labels == c)
        out.append(members[np.unique(np.linspace(0, len(members) - 1, min(n, len(members))).round().astype(int))])
    return np.concatenate(out) if out else np.zeros(0, np.int64)


def with_old_classes(takes: EventDataset, checkpoint: str, n: int, progress: bool = True,
                     dataset: str | None = None) -> EventDataset:
    """``takes`` plus ``n`` training recordings per class of ``dataset`` (default: the one ``checkpoint`` was
    trained on)."""
    from models.checkpoint.files import read_checkpoint_meta
    from training.data.resolve import resolve_split

    if n < 0:
        raise SastLiveError(f"--keep-old must be ≥ 0, got {n}")
    meta, _ = read_checkpoint_meta(checkpoint)
    tc = meta.get("train_cfg") or {}
    if dataset:
        tc = {"dataset": dataset}
    if not tc.get("dataset"):
        raise SastLiveError(f"{checkpoint} does not say which dataset it was trained on; fine-tune with "
                            "--keep-old 0 and takes of the old classes in the dataset instead")
    base = resolve_split(tc["dataset"], "train", tc.get("data_dir"), progress)
    if tuple(base.sensor_size) != tuple(takes.sensor_size):
        raise SastLiveError(f"{tc['dataset']} is {base.sensor_size[0]}x{base.sensor_size[1]}, the takes "
                            f"{takes.sensor_size[0]}x{takes.sensor_size[1]}")
    missing = [c for c in base.classes if c not in takes.classes]
    if missing:
        raise SastLiveError(f"the takes' classes lack {missing}, which {checkpoint} knows")
    idx = pick_per_class(base.labels, n)
    relabel = [takes.classes.index(c) for c in base.classes]
    return EventDataset(f"{takes.name} + {tc['dataset']}", takes.files + tuple(base.files[i] for i in idx),
                        takes.labels + tuple(relabel[base.labels[i]] for i in idx), takes.classes,
                        takes.sensor_size)


#: an epoch of a fine-tuning shows every class at least this often (the old classes' count at the default
#: --keep-old 30 after the validation fifth): with fewer, 25 epochs were too few steps for a new class to be learnt
MIN_PER_CLASS = 24


def balance_classes(ds: EventDataset, at_least: int = MIN_PER_CLASS) -> EventDataset:
    """``ds`` with every class repeated (cyclically, in order) up to the count of its largest class, and at least
    ``at_least``, so that 15 takes of a new gesture weigh as much in an epoch as the old classes' recordings
    (augmentation makes the repeats differ). Apply after the validation split: a repeat must never sit on both
    sides of it."""
    labels = np.asarray(ds.labels)
    counts = np.bincount(labels, minlength=len(ds.classes))
    most = max(int(counts.max()), at_least) if len(counts) else 0
    idx = []
    for c in np.flatnonzero(counts):
        members = np.flatnonzero(labels == c)
        idx.append(np.resize(members, most))
    return ds.subset(np.concatenate(idx)) if idx else ds
