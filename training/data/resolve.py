"""``--dataset`` names → EventDatasets; synthetic datasets are generated on first use."""

from __future__ import annotations

import os
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
SYNTH_DEFAULT = {"nmnist": REPO / "data" / "synth-nmnist", "gestures": REPO / "data" / "synth-gestures",
                 "gestures-v2": REPO / "data" / "synth-gestures-v2", "gestures-v3": REPO / "data" / "synth-gestures-v3"}
# per class and split, generated on first use
SYNTH_SIZE = {"nmnist": 100, "gestures": 40, "gestures-v2": 200, "gestures-v3": 200}
SYNTH_WORKERS = max(1, (os.cpu_count() or 1))


def resolve_split(name: str, split: str, data_dir: str | None = None, progress: bool = True) -> EventDataset:
    """The ``split`` of ``nmnist`` (synthetic), ``nmnist-real`` (the 1,000/100 real digits), ``gestures``
    (synthetic) or a path to any dataset folder ``open_dataset`` understands."""
    if name == "nmnist-real":
        return open_dataset(Path(data_dir) if data_dir else real_nmnist(), split)
    if name in SYNTH_DEFAULT:
        folder = Path(data_dir) if data_dir else SYNTH_DEFAULT[name]
        if not (folder / "meta.json").is_file():
            from training.data.synth import synth_dataset

            print(f"{folder}: generating the synthetic {name} dataset once ({SYNTH_SIZE[name]} per class)")
            synth_dataset(name, folder, n_per_class=SYNTH_SIZE[name], progress=progress, workers=SYNTH_WORKERS)
        return open_dataset(folder, split)
    if Path(name).is_dir():
        return open_dataset(Path(name), split)
    raise SastLiveError("--dataset must be nmnist, nmnist-real, gestures, gestures-v2, gestures-v3 or a dataset "
                        f"folder; got {name!r}")


def resolve_datasets(name: str, data_dir: str | None = None, progress: bool = True):
    """(train, test) of :func:`resolve_split`."""
    return resolve_split(name, "train", data_dir, progress), resolve_split(name, "test", data_dir, progress)
