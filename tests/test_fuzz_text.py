"""Random and mutated bytes for the project's own text files, as tests/test_fuzz.py does for recordings: a labels
file (``_labels.csv``) and a takes folder's ``meta.json`` either read as valid or raise one clear error of the
project's own type — never another exception (a traceback for the user)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from sast_live.errors import EventFormatError, SastLiveError
from sast_live.events import make_events
from sast_live.formats.dvs_gesture import gesture_labels_text, read_gesture_labels
from sast_live.takes import TakeSet

N_CASES = 600


def mutate(data: bytes, rng: np.random.Generator, case: int) -> bytes:
    data = bytearray(data)
    mode = case % 5
    if mode == 0:  # flip random bytes
        for _ in range(rng.integers(1, 8)):
            data[rng.integers(0, len(data))] = rng.integers(0, 256)
    elif mode == 1:  # truncate anywhere
        data = data[: rng.integers(0, len(data))]
    elif mode == 2:  # printable garbage inserted (a digit, a comma, a quote, a minus, a newline …)
        at = int(rng.integers(0, len(data) + 1))
        junk = bytes(rng.choice(list(b"0123456789,.-+\" \n\r\t{}[]:eE"), rng.integers(1, 12)).tolist())
        data = data[:at] + junk + data[at:]
    elif mode == 3:  # duplicate / delete a slice
        a, b = sorted(rng.integers(0, len(data), 2))
        data = data[:a] + data[a:b] * int(rng.integers(0, 3)) + data[b:]
    else:  # swap two digits' places with other digits
        digits = [i for i, c in enumerate(data) if 48 <= c <= 57]
        for i in rng.choice(digits, min(len(digits), 3), replace=False):
            data[i] = int(rng.integers(48, 58))
    return bytes(data)


def test_fuzz_labels_file(tmp_path):
    seed = gesture_labels_text([(0, 100_000, 900_000), (4, 1_000_000, 2_500_000), (10, 3_000_000, 3_600_000)])
    seed = seed.encode("utf-8")
    path = tmp_path / "x_labels.csv"
    rng = np.random.default_rng(31)
    outcomes = []
    for case in range(N_CASES):
        path.write_bytes(mutate(seed, rng, case))
        try:
            rows = read_gesture_labels(path)
        except EventFormatError as exc:
            assert str(path) in str(exc)  # the error names the file
            outcomes.append(False)
            continue
        assert rows and all(0 <= c < 11 and s < e for c, s, e in rows)
        ends = sorted(rows, key=lambda r: r[1])
        assert all(a[2] <= b[1] for a, b in zip(ends, ends[1:], strict=False))  # never overlapping
        outcomes.append(True)
    assert 0 < sum(outcomes) < len(outcomes)  # damage caught, harmless changes still read


def _meta_variants(meta: dict, rng: np.random.Generator):
    """Valid JSON of the wrong shape: each field replaced by a value of another type, removed, or the whole file
    another JSON value."""
    odd = [None, 0, -1, 1.5, True, "", "x", "../../etc", [], [1], ["a", "a"], [128], [0, 128], [128, 128, 1],
           [1e9, 1], {"a": 1}, ["hand clap"], ["a\nb"], [[1, 2]]]
    for key in meta:
        for value in odd:
            yield {**meta, key: value}
        yield {k: v for k, v in meta.items() if k != key}
    for value in odd:
        yield value


def test_fuzz_takes_folder_meta(tmp_path):
    root = tmp_path / "takes"
    takes = TakeSet.open_or_create(root, (128, 128), ("hand_clap", "no_gesture"))
    ev = make_events(np.arange(0, 300_000, 1000), np.arange(300) % 128, np.arange(300) % 100, np.arange(300) % 2)
    for name in ("hand_clap", "push", "push"):
        takes.add(ev, name)
    meta_path = root / "meta.json"
    seed = meta_path.read_bytes()
    rng = np.random.default_rng(29)
    cases = [mutate(seed, rng, case) for case in range(N_CASES)]
    cases += [json.dumps(v).encode() for v in _meta_variants(json.loads(seed), rng)]
    outcomes = []
    for data in cases:
        meta_path.write_bytes(data)
        try:
            opened = TakeSet.open(root)
            counts, size = opened.counts(), opened.sensor_size
            assert len(size) == 2 and all(isinstance(v, int) for v in size)
            assert set(counts) == set(opened.classes)
            outcomes.append(True)
        except SastLiveError as exc:
            assert "\n" not in str(exc).strip() or "meta.json" in str(exc)
            outcomes.append(False)
    assert 0 < sum(outcomes) < len(outcomes)
    # nothing was written outside the folder, whatever the classes said
    assert sorted(p.name for p in tmp_path.iterdir()) == ["takes"]


def test_a_dataset_with_a_doctored_meta_is_one_clear_error_for_training_and_evaluation(tmp_path):
    """The loader ``train`` and ``evaluate`` read datasets and takes folders with: every field of ``meta.json``
    replaced by a value of another type, or removed, is either loaded or one SastLiveError (``evaluate`` on a
    takes folder without ``sensor_size`` was a KeyError)."""
    from training.data.datasets import open_dataset

    root = tmp_path / "takes"
    takes = TakeSet.open_or_create(root, (128, 128), ("hand_clap", "no_gesture"))
    ev = make_events(np.arange(0, 300_000, 1000), np.arange(300) % 128, np.arange(300) % 100, np.arange(300) % 2)
    for _ in range(4):
        takes.add(ev, "hand_clap")
    meta_path = root / "meta.json"
    seed = json.loads(meta_path.read_text())
    loaded = 0
    for variant in _meta_variants(seed, np.random.default_rng(0)):
        meta_path.write_text(json.dumps(variant))
        for split in ("train", "test"):
            try:
                ds = open_dataset(root, split)
                assert len(ds.files) == len(ds.labels) and len(ds.sensor_size) == 2
                loaded += 1
            except SastLiveError as exc:
                assert "meta.json" in str(exc) or str(root) in str(exc)
    assert loaded > 0


@pytest.mark.parametrize("bad", ['{"dataset": "takes", "classes": ["../../escape"], "sensor_size": [128, 128]}',
                                 '{"dataset": "takes", "classes": ["a"], "sensor_size": [128]}',
                                 '["takes"]'])
def test_a_takes_folder_with_a_doctored_meta_is_one_clear_error(tmp_path, bad):
    from sast_live.takes import DATASET

    root = tmp_path / "t"
    root.mkdir()
    (root / "meta.json").write_text(bad.replace('"takes"', json.dumps(DATASET)))
    with pytest.raises(SastLiveError) as err:
        TakeSet.open(root)
    assert str(root) in str(err.value)
