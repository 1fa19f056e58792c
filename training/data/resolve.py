"""``--dataset`` names → EventDatasets; synthetic datasets are generated on first use."""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path

from sast_live.errors import SastLiveError
from training.data.datasets import EventDataset, open_dataset

REPO = Path(__file__).resolve().parents[2]
SHARED_DATA_ENV = "SAST_SHARED_DATA"  # where the real recordings are (default: ../shared/data/real)


def shared_data() -> Path:
    """The folder of real recordings: ``$SAST_SHARED_DATA``, else ``../shared/data/real`` beside the repository."""
    return Path(os.environ.get(SHARED_DATA_ENV) or REPO.parent / "shared" / "data" / "real")


def real_nmnist() -> Path:
    return shared_data() / "slayer-nmnist" / "NMNISTsmall"


#: what a name is made by, if not the generator of the same name at seed 0: ``gestures-v2-seed1`` is gestures-v2's
#: generator at seed 1 — another pool of 29 people (its subjects 0-22 train, 23-28 test, as the first pool's), so a
#: union ``gestures-v2+gestures-v2-seed1`` trains on 40 people and holds out the same subject ids (20-22) of both;
#: ``gestures-v2-seed2`` … ``-seed4`` are further pools the same way
SYNTH_RECIPE = {f"gestures-v2-seed{seed}": ("gestures-v2", seed) for seed in (1, 2, 3, 4)}
#: recordings per class generated on first use: one count for both splits, or (train, test)
SYNTH_SIZE = {"nmnist": 100, "gestures": 40, "gestures-v2": 200, "gestures-v3": 200,
              **dict.fromkeys(SYNTH_RECIPE, (100, 20))}
#: where each synthetic dataset is generated on first use: ``data/synth-<name>``
SYNTH_DEFAULT = {name: REPO / "data" / f"synth-{name}" for name in SYNTH_SIZE}
SYNTH_WORKERS = max(1, (os.cpu_count() or 1))


#: the event datasets ``--dataset`` names, in words (each error that lists them says the same)
DATASET_CHOICES = ("nmnist, nmnist-real, gestures, gestures-v2, gestures-v2-seed1 … gestures-v2-seed4, gestures-v3, a "
                   "dataset folder or a union A+B of them")


def names_a_dataset(name: str) -> bool:
    """Whether ``name`` can name an event dataset (:func:`resolve_split` may still find its folder missing)."""
    parts = name.split("+") if "+" in name and not Path(name).is_dir() else [name]
    return all(p.rsplit(":", 1)[0] in ("nmnist-real", *SYNTH_DEFAULT) or Path(p).is_dir() or
               (":" in p and Path(p.rsplit(":", 1)[0]).is_dir()) for p in parts)


def resolve_split(name: str, split: str, data_dir: str | None = None, progress: bool = True) -> EventDataset:
    """The ``split`` of ``nmnist`` (synthetic), ``nmnist-real`` (the 1,000/100 real digits), ``gestures``
    (synthetic) or a path to any dataset folder ``open_dataset`` understands; ``A+B`` is the union of both
    datasets' ``split`` (same classes, same sensor), e.g. ``gestures-v2+gestures-v3``; ``A:c1,c2`` only the
    recordings of classes c1, c2 of A (the class list stays A's), e.g. ``gestures-v2+gestures-v3:no_gesture``."""
    if "+" in name and not Path(name).is_dir():
        if data_dir:
            raise SastLiveError(f"--data-dir names one folder; the union {name!r} takes folders as its parts")
        return union([resolve_split(part, split, None, progress) for part in name.split("+")], name)
    if ":" in name and not Path(name).is_dir():
        base, wanted = name.rsplit(":", 1)
        return only_classes(resolve_split(base, split, data_dir, progress), wanted.split(","), name)
    if name == "nmnist-real":
        return open_dataset(Path(data_dir) if data_dir else real_nmnist(), split)
    if name in SYNTH_DEFAULT:
        folder = Path(data_dir) if data_dir else SYNTH_DEFAULT[name]
        if needs_generating(folder):  # a folder a killed first use left half-written is completed
            generate_synth(name, folder, progress)
        return open_dataset(folder, split)
    if Path(name).is_dir():
        return open_dataset(Path(name), split)
    raise SastLiveError(f"--dataset must be {DATASET_CHOICES}; got {name!r}")


def needs_generating(folder: Path) -> bool:
    """Whether ``folder`` lacks a finished synthetic dataset: no ``meta.json``, or one without a train and a test split
    (a first use killed between its splits). An unreadable one is left to :func:`open_dataset`, which says so."""
    import json

    meta = folder / "meta.json"
    if not meta.is_file():
        return True
    try:
        splits = json.loads(meta.read_text()).get("splits")
    except (OSError, ValueError, AttributeError):
        return False
    return isinstance(splits, dict) and not {"train", "test"} <= set(splits)


def synth_recipe(name: str) -> tuple[str, int]:
    """``(generator, seed)`` that make the :data:`SYNTH_DEFAULT` dataset ``name``."""
    return SYNTH_RECIPE.get(name, (name, 0))


def generate_synth(name: str, folder: Path, progress: bool = True) -> None:
    """Write the synthetic dataset ``name`` (a :data:`SYNTH_DEFAULT` name) into ``folder`` at its :data:`SYNTH_SIZE`."""
    from training.data.synth import synth_dataset

    kind, seed = synth_recipe(name)
    size = SYNTH_SIZE[name]
    n_train, n_test = size if isinstance(size, tuple) else (size, size)
    print(f"{folder}: generating the synthetic {name} dataset once ({n_train} per class"
          f"{'' if n_train == n_test else f' for training, {n_test} for testing'})")
    if n_train == n_test:
        synth_dataset(kind, folder, n_per_class=n_train, seed=seed, progress=progress, workers=SYNTH_WORKERS)
        return
    for split, n in (("train", n_train), ("test", n_test)):
        synth_dataset(kind, folder, n_per_class=n, seed=seed, split=split, progress=progress, workers=SYNTH_WORKERS)


def resolve_datasets(name: str, data_dir: str | None = None, progress: bool = True):
    """(train, test) of :func:`resolve_split`."""
    return resolve_split(name, "train", data_dir, progress), resolve_split(name, "test", data_dir, progress)


def only_classes(ds: EventDataset, wanted: list[str], name: str) -> EventDataset:
    """The recordings of ``ds`` whose class is one of ``wanted`` (labels and class list unchanged)."""
    unknown = [c for c in wanted if c not in ds.classes]
    if unknown or not wanted:
        raise SastLiveError(f"{name}: {ds.name} has no class {', '.join(unknown) or '(none named)'}; its classes "
                            f"are {', '.join(ds.classes)}")
    keep = [ds.classes.index(c) for c in wanted]
    return replace(ds.subset([i for i, y in enumerate(ds.labels) if y in keep]), name=name)


def union(parts: list[EventDataset], name: str) -> EventDataset:
    """The datasets ``parts`` one after the other (their files, labels and recordings). Subjects keep their ids:
    the people datasets draw the same split's subjects from one pool, so a validation split by subject holds the
    same people out of every part, and no test subject is in any part's training split."""
    first = parts[0]
    for ds in parts[1:]:
        if tuple(ds.classes) != tuple(first.classes):
            raise SastLiveError(f"{name}: {ds.name} has the classes {list(ds.classes)}, {first.name} "
                                f"{list(first.classes)}; a union needs the same classes in the same order")
        if tuple(ds.sensor_size) != tuple(first.sensor_size):
            raise SastLiveError(f"{name}: {ds.name} is {ds.sensor_size[0]}x{ds.sensor_size[1]}, {first.name} "
                                f"{first.sensor_size[0]}x{first.sensor_size[1]}")
    recordings = None
    if all(ds.recordings is not None for ds in parts):
        recordings = tuple(r for ds in parts for r in ds.recordings)
    return EventDataset(name, tuple(f for ds in parts for f in ds.files), tuple(y for ds in parts for y in ds.labels),
                        first.classes, first.sensor_size, recordings)
