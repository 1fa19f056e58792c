"""Writing synthetic datasets to disk (``python main.py data synth``), resumable and with a progress bar."""

from __future__ import annotations

import json
import os
from pathlib import Path

from tqdm import tqdm

from sast_live.errors import SastLiveError
from sast_live.formats.evt3 import write_evt3
from sast_live.synthetic import gestures as synth_gestures
from sast_live.synthetic import nmnist as synth_nmnist
from sast_live.synthetic import people, people_v3
from training.data.datasets import META, sample_path
from training.data.real_scenes import training_clips
from training.data.resolve import shared_data

GENERATORS = {
    "nmnist": ("synthetic-nmnist", synth_nmnist),
    "gestures": ("synthetic-gestures", synth_gestures),
    "gestures-v2": ("synthetic-gestures-v2", people),
    "gestures-v3": ("synthetic-gestures-v3", people_v3),
}
PEOPLE = ("gestures-v2", "gestures-v3")  # the datasets of people from a subject pool
SPLIT_SUBJECTS = {"train": people.TRAIN_SUBJECTS, "test": people.TEST_SUBJECTS}


def person_and_light(split: str, label: int, index: int) -> tuple[int, str]:
    """Who performs sample ``index`` of class ``label`` and under which light (gestures-v2/v3): every subject of the
    split under every lighting, spread evenly over the classes; train and test subjects never meet."""
    subjects = SPLIT_SUBJECTS[split]
    lighting = people.LIGHTINGS[index % len(people.LIGHTINGS)]
    return subjects[(index // len(people.LIGHTINGS) + 5 * label) % len(subjects)], lighting
SPLIT_SALT = {"train": 0, "test": 1}


def sample_seed(seed: int, split: str, label: int, index: int) -> int:
    """A distinct, reproducible seed for every sample (independent of how many samples are written)."""
    return ((seed * 1_000_003 + SPLIT_SALT[split]) * 101 + label) * 1_000_033 + index


def _generate(kind: str, split: str, label: int, index: int, seed: int):
    s = sample_seed(seed, split, label, index)
    if kind == "nmnist":
        digits = synth_nmnist.TRAIN_DIGITS if split == "train" else synth_nmnist.TEST_DIGITS
        return synth_nmnist.make_sample(label, digits[index % len(digits)], s)
    if kind == "gestures-v2":
        sid, lighting = person_and_light(split, label, index)
        return people.make_sample(label, s, people.subject(sid, seed), lighting)
    if kind == "gestures-v3":  # real clips only from the training side of the declared split, in both splits
        sid, lighting = person_and_light(split, label, index)
        return people_v3.make_sample(label, s, people_v3.subject(sid, seed), lighting,
                                     real_clips=training_clips(str(shared_data())))
    return synth_gestures.make_sample(label, s)


def _write_sample(job) -> None:
    """Generate one sample and write it atomically (a killed run never leaves a half-written file)."""
    kind, out, s, c, i, seed = job
    module = GENERATORS[kind][1]
    path = sample_path(out, s, c, module.CLASSES[c], i)
    if path.is_file():
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".part{os.getpid()}")
    write_evt3(tmp, _generate(kind, s, c, i, seed), module.SENSOR)
    tmp.replace(path)


def synth_dataset(kind: str, out: str | os.PathLike, n_per_class: int = 100, seed: int = 0,
                  split: str = "both", progress: bool = True, workers: int = 1, classes=None) -> Path:
    """Write ``n_per_class`` samples per class (and split) of the synthetic ``kind`` dataset into ``out``; with
    ``classes`` (names), only those classes' samples — the same files a whole run writes for them (every sample is
    seeded on its own), e.g. gestures-v3's no_gesture recordings for ``--dataset gestures-v2+gestures-v3:no_gesture``
    without rendering the other eleven classes.

    Existing sample files are kept (an interrupted run resumes where it stopped); ``meta.json`` is written
    last, so a folder with it is complete.
    """
    if kind not in GENERATORS:
        raise SastLiveError(f"unknown synthetic dataset {kind!r}; choose {', '.join(GENERATORS)}")
    if n_per_class <= 0:
        raise SastLiveError(f"--n-per-class must be positive, got {n_per_class}")
    name, module = GENERATORS[kind]
    wanted = list(range(len(module.CLASSES))) if classes is None else _class_indices(kind, module.CLASSES, classes)
    written = None if classes is None else [module.CLASSES[c] for c in wanted]
    out = Path(out)
    splits = ("train", "test") if split == "both" else (split,)
    meta_path = out / META
    old = {}
    if meta_path.is_file():
        old = json.loads(meta_path.read_text())
        if old.get("dataset") != name or old.get("seed") != seed:
            raise SastLiveError(f"{out} already holds {old.get('dataset')} (seed {old.get('seed')}); "
                                "choose another --out")
        if old.get("written") != written:
            raise SastLiveError(f"{out} already holds {', '.join(old.get('written') or ['every class'])} of {name}; "
                                f"--classes {', '.join(written or ['(all)'])} needs another --out")
        meta_path.unlink()  # rewritten when complete (keeping the splits an earlier run wrote)
    jobs = [(kind, out, s, c, i, seed) for s in splits for c in wanted for i in range(n_per_class)]
    bar = tqdm(total=len(jobs), desc=f"{kind} samples", unit="sample", disable=not progress)
    if workers > 1:
        import multiprocessing

        # samples are independent and seeded individually, so any worker count gives identical files
        with multiprocessing.get_context("spawn").Pool(workers) as pool:
            for _ in pool.imap_unordered(_write_sample, jobs, chunksize=4):
                bar.update()
    else:
        for job in jobs:
            _write_sample(job)
            bar.update()
    bar.close()
    meta = {
        "dataset": name,
        "classes": list(module.CLASSES),
        "sensor_size": list(module.SENSOR),
        "splits": {**old.get("splits", {}), **{s: n_per_class * len(wanted) for s in splits}},
        "seed": seed,
        "format": "EVT3 .raw per sample, t from 0 µs; layout <split>/<label:02d>_<class>/<index:05d>.raw",
    }
    if kind in PEOPLE:  # who and which light, per split, class and index (for per-subject evaluation)
        meta["recordings"] = {**old.get("recordings", {}), **{
            s: [[list(person_and_light(s, c, i)) for i in range(n_per_class)] for c in range(len(module.CLASSES))]
            for s in splits}}
    if written is not None:  # a folder of some classes only: said in its meta, so no run mixes it with a whole one
        meta["written"] = written
    meta_path.write_text(json.dumps(meta, indent=2))
    return out


def _class_indices(kind: str, names, wanted) -> list[int]:
    """Indices of the class names ``wanted`` among ``names`` (in the dataset's order); an unknown or empty list is
    an error naming the classes there are."""
    unknown = [c for c in wanted if c not in names]
    if unknown or not wanted:
        raise SastLiveError(f"--classes: {kind} has no class {', '.join(unknown) or '(none named)'}; its classes are "
                            f"{', '.join(names)}")
    return [k for k, c in enumerate(names) if c in wanted]
