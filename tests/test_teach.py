"""Teaching the sensor a gesture: the folder of takes, `record --label --dataset`, the grown readout, the mixing of
old classes, and the whole workflow with a stand-in person (a motion none of the 11 classes is)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from sast_live.errors import SastLiveError
from sast_live.events import make_events
from sast_live.formats.registry import read_events
from sast_live.synthetic import people
from sast_live.takes import TakeSet
from tests.conftest import main_in_process

REPO = Path(__file__).resolve().parents[1]
MAIN = [sys.executable, str(REPO / "main.py")]
BASE = REPO / "models" / "zoo" / "gestures-sast" / "model"


def run(*args, ok=True, timeout=900):
    done = subprocess.run(MAIN + [str(a) for a in args], capture_output=True, text=True, cwd=REPO, timeout=timeout)
    if ok:
        assert done.returncode == 0, done.stderr[-3000:]
    return done


def events(n=50, t0=5_000_000):
    return make_events(np.arange(n) * 1000 + t0, np.arange(n) % 128, np.arange(n) % 100, np.arange(n) % 2)


def test_takes_are_stored_in_the_dataset_layout_with_every_fourth_held_out(tmp_path):
    from training.data.datasets import open_dataset

    takes = TakeSet.open_or_create(tmp_path / "t", (128, 128), ("a", "b"), "base")
    stored = [takes.add(events(), "wave_2") for _ in range(5)]
    assert [t.split for t in stored] == ["train", "train", "train", "test", "train"]
    assert takes.classes == ("a", "b", "wave_2") and all(t.label == 2 for t in stored)
    assert stored[0].path == tmp_path / "t" / "train" / "02_wave_2" / "00000.raw"
    ev = read_events(stored[0].path)
    assert len(ev) == 50 and ev["t"][0] == 0  # t from 0, as data synth writes
    assert stored[3].labels_csv.read_text().splitlines()[1] == f"3,0,{int(ev['t'][-1]) + 1}"
    meta = json.loads((tmp_path / "t" / "meta.json").read_text())
    assert meta["splits"] == {"train": 4, "test": 1} and meta["base_model"] == "base"
    train = open_dataset(tmp_path / "t", "train")  # what training reads
    assert train.labels == (2, 2, 2, 2) and train.classes == ("a", "b", "wave_2")
    takes.delete(stored[1])
    again = TakeSet.open(tmp_path / "t")
    assert again.counts()["wave_2"] == {"train": 3, "test": 1} and again.meta["splits"]["train"] == 3
    assert again.add(events(), "wave_2").index == 5  # numbers are never reused
    assert not list((tmp_path / "t").rglob("*.tmp*"))
    # a crash after a take's rename, before meta.json was rewritten: opening counts what is on disk
    meta = json.loads((tmp_path / "t" / "meta.json").read_text())
    (tmp_path / "t" / "meta.json").write_text(json.dumps(dict(meta, splits={"train": 1, "test": 0})))
    assert TakeSet.open(tmp_path / "t").meta["splits"] == {"train": 4, "test": 1}
    assert len(open_dataset(tmp_path / "t", "train")) == 4


@pytest.mark.parametrize("name", ["../up", "two words", "", "é", "x" * 41, "-lead", "evil\n", "a\nb"])
def test_a_class_name_must_be_a_folder_name(tmp_path, name):
    takes = TakeSet.open_or_create(tmp_path, (128, 128), ("a",))
    with pytest.raises(SastLiveError, match="not a valid folder name"):
        takes.add(events(), name)


def test_bad_takes_and_folders_are_refused_with_what_was_wrong(tmp_path):
    takes = TakeSet.open_or_create(tmp_path / "t", (128, 128), ("a",))
    with pytest.raises(SastLiveError, match="no events"):
        takes.add(events(0), "a")
    with pytest.raises(SastLiveError, match="128x128.*this source is 34x34"):
        TakeSet.open_or_create(tmp_path / "t", (34, 34))
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "notes.txt").write_text("mine")
    with pytest.raises(SastLiveError, match="not a folder of takes"):
        TakeSet.open_or_create(tmp_path / "other", (128, 128))
    (tmp_path / "synth").mkdir()
    (tmp_path / "synth" / "meta.json").write_text(json.dumps({"dataset": "synthetic-gestures-v2", "classes": []}))
    with pytest.raises(SastLiveError, match="not a folder of takes"):
        TakeSet.open(tmp_path / "synth")
    assert TakeSet.open(tmp_path / "t").counts() == {"a": {"train": 0, "test": 0}}  # nothing half-written


def test_a_take_that_cannot_be_written_is_one_clear_error_never_retried_and_leaves_nothing(tmp_path, monkeypatch):
    """A full disk (ENOSPC while the take is written): the take is not kept half-written nor counted, `record`
    stops at once with the reason (it had retried the same take forever), and the takes stored before it stay."""
    import errno

    from sast_live.formats import evt3
    from sast_live.formats.registry import write_events
    from sast_live.recorder import record_takes
    from sast_live.sources import open_source

    takes = TakeSet.open_or_create(tmp_path / "t", (128, 128), ("a",))
    takes.add(events(), "a")  # one take stored before the disk fills
    before = sorted(p.name for p in (tmp_path / "t").rglob("*"))
    calls = []
    real = evt3.write_evt3

    def full(path, *args, **kw):
        calls.append(path)
        real(path, *args, **kw)  # part of it is written, then the disk is full
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(evt3, "write_evt3", full)
    with pytest.raises(SastLiveError, match="could not be stored.*No space left on device"):
        takes.add(events(), "a")
    assert sorted(p.name for p in (tmp_path / "t").rglob("*")) == before  # no .tmp, no labels, no take
    rec = tmp_path / "stream.npy"
    write_events(rec, make_events(np.arange(4000) * 1000, np.arange(4000) % 128, np.arange(4000) % 128,
                                  np.arange(4000) % 2), (128, 128))
    calls.clear()
    with pytest.raises(SastLiveError, match="No space left on device.*the 0 take\\(s\\) stored before it are kept"):
        record_takes(open_source(rec, speed=None), takes, "a", n=3, seconds=0.5, gap_s=0.1, progress=False,
                     say=lambda line: None)
    assert len(calls) == 1  # not tried again
    assert TakeSet.open(tmp_path / "t").counts() == {"a": {"train": 1, "test": 0}}
    assert sorted(p.name for p in (tmp_path / "t").rglob("*")) == before
    # a folder whose meta.json lags its takes (a crash after a take), opened to train on a full disk: opening
    # recounts in memory and reads on; it does not need to write
    meta = json.loads((tmp_path / "t" / "meta.json").read_text())
    meta["splits"] = {"a": {"train": 0, "test": 0}}
    (tmp_path / "t" / "meta.json").write_text(json.dumps(meta))
    import sast_live.takes as takes_module

    def no_space(path, text):
        raise OSError(errno.ENOSPC, "No space left on device", str(path))

    monkeypatch.setattr(takes_module, "atomic_write_text", no_space)
    assert TakeSet.open(tmp_path / "t").counts() == {"a": {"train": 1, "test": 0}}
    assert json.loads((tmp_path / "t" / "meta.json").read_text())["splits"] == {"a": {"train": 0, "test": 0}}


def test_a_take_started_while_the_last_one_is_being_stored_is_not_lost(tmp_path):
    """Hold-to-record pressed again at once: the next take starts while the last one is still being stored on the
    reader thread. The last one's end must not clear the new one (it did: the new take recorded nothing, silently)."""
    from types import SimpleNamespace

    from sast_live.session import Session

    session = Session.__new__(Session)  # only what takes touch: no model, no pipeline
    session.take, session.recorder = None, None
    session.runner = SimpleNamespace(tap=None)
    session.source = SimpleNamespace(sensor_size=(128, 128))
    takes = TakeSet.open_or_create(tmp_path / "t", (128, 128), ("a",))
    stored = []
    session.start_take(takes, "a", 0.04, done=lambda take, error: stored.append((take, error)))
    first = session.take
    first.write(events(30, t0=0))  # 30 ms of a 40-ms take: under way
    first_store = first.write  # the reader thread, about to store it …
    session.start_take(takes, "a", 0.04, done=lambda take, error: stored.append((take, error)))
    second = session.take  # … while the user has pressed again
    first_store(events(20, t0=35_000))  # reaches the end: the first take is stored, its done runs
    assert session.take is second and len(stored) == 1 and stored[0][1] is None
    session._tap(events(50, t0=100_000))
    assert len(stored) == 2 and stored[1][1] is None and session.take is None
    assert takes.counts() == {"a": {"train": 2, "test": 0}}


@pytest.mark.slow
def test_record_takes_from_the_stand_in_person(tmp_path):
    d = tmp_path / "takes"
    done = run("record", "synthetic:people:push_both_hands", "--label", "push_both_hands", "--dataset", d,
               "--takes", "4", "--seconds", "0.5", "--gap", "0.2", "--speed", "0", "--quiet")
    assert "4 takes" in done.stdout and "(3 train, 1 held out)" in done.stdout
    takes = TakeSet.open(d)
    assert takes.classes[:12] == people.CLASSES and takes.classes[12] == "push_both_hands"
    spans = []
    for t in takes.takes():
        ev = read_events(t.path)
        spans.append(int(ev["t"][-1]))
        assert len(ev) > 1000  # the person moves
    assert all(450_000 < s < 500_000 for s in spans)
    for args, msg in ((["--label", "two words"], "not a valid folder name"), ([], "give --label"),
                      (["out.raw", "--label", "x"], "no output file")):
        bad = run("record", "synthetic:people:push_both_hands", *args, "--dataset", d, "--speed", "0", ok=False)
        assert bad.returncode != 0 and msg in bad.stderr and "Traceback" not in bad.stderr
    bad = run("record", "synthetic:people:moonwalk", "--label", "m", "--dataset", d, "--speed", "0", ok=False)
    assert "unknown motion 'moonwalk'" in bad.stderr and "push_both_hands" in bad.stderr


def test_the_readout_grows_for_new_classes_and_keeps_the_old_rows():
    from models.checkpoint.weights import load_model
    from training.networks import initial_network

    base, _ = load_model(BASE)
    cfg, grown = initial_network(str(BASE), (*people.CLASSES, "push_both_hands"), (128, 128))
    assert cfg.n_classes == 13 and grown.readout.weight.shape[0] == 13
    assert torch.equal(grown.readout.weight[:12], base.readout.weight)
    assert torch.equal(grown.readout.bias[:12], base.readout.bias)
    assert torch.allclose(grown.readout.bias[12], base.readout.bias.mean())
    assert all(torch.equal(a.weight, b.weight) for a, b in zip(grown.convs, base.convs, strict=True))
    with pytest.raises(SastLiveError, match="in this order"):
        initial_network(str(BASE), ("push_both_hands", *people.CLASSES))
    with pytest.raises(SastLiveError, match="128x128 sensor; the dataset's recordings are 34x34"):
        initial_network(str(BASE), people.CLASSES, (34, 34))


def test_old_classes_are_picked_evenly_and_every_class_weighs_the_same(tmp_path):
    from training.data.datasets import EventDataset
    from training.data.mixing import balance_classes, pick_per_class

    labels = [0] * 10 + [1] * 3 + [2] * 6
    idx = pick_per_class(labels, 4)
    assert idx.tolist() == [0, 3, 6, 9, 10, 11, 12, 13, 15, 16, 18]
    files = tuple(tmp_path / f"{i}.raw" for i in range(len(labels)))
    ds = EventDataset("x", files, tuple(labels), ("a", "b", "c"), (128, 128))
    bal = balance_classes(ds, at_least=0)
    assert np.bincount(bal.labels).tolist() == [10, 10, 10]
    assert np.bincount(balance_classes(ds, at_least=12).labels).tolist() == [12, 12, 12]
    assert bal.files.count(files[10]) == 4 and set(bal.files) == set(files)


@pytest.mark.slow
def test_a_full_fine_tuning_on_takes_end_to_end(push_takes, tmp_path, request, capsys):
    """The full fine-tuning (``--method sast``; teaching's default refits the readout alone:
    tests/test_teach_readout.py), headless, at CI size: the shared 8 takes of a motion none of the 11 classes is
    (both hands pushing towards the camera) from the stand-in person; gestures-sast fine-tuned with the few-shot
    defaults but for 1 epoch (of 25), its old classes mixed in from the shared tiny gestures-v2 set (one recording
    each); then the held-out takes at INT8, the old classes on that set's test split before and after, the base
    model's streaming window and floor kept, the INT8 firmware, and that firmware replaying a held-out take. One
    epoch on one recording per old class teaches nothing worth a figure: the accuracies are checked for their place
    and range; what teaching achieves at full size is measured and reported in the README
    (`benchmarks/teach_gui.py`)."""
    def cli(*args):
        return main_in_process(capsys, *args)

    d = push_takes
    tiny_gestures_v2 = request.getfixturevalue("tiny_gestures_v2")  # after the takes: it may still be being made
    out = tmp_path / "run"
    done = cli("train", "--init-from", BASE, "--dataset", d, "--method", "sast", "--keep-old", "1", "--keep-old-from",
               tiny_gestures_v2, "--epochs", "1", "--out", out, "--quiet")
    assert "held-out takes of push_both_hands" in done.stdout and "old classes:" in done.stdout
    summary = json.loads((out / "finetune.json").read_text())
    held = summary["held_out_takes"]["push_both_hands"]
    assert held["n"] == 2 and 0 <= held["int8_accuracy"] <= 1
    old = summary["old_classes"]
    assert old["n"] == 12 and old["dataset"] == str(tiny_gestures_v2)
    assert 0 <= old["int8_before"] <= 1 and abs(old["change"] - (old["int8_after"] - old["int8_before"])) < 1e-12
    meta = json.loads((out / "model.json").read_text())
    assert meta["model_cfg"]["classes"][-1] == "push_both_hands" and meta["decision"]["window_ms"]
    tc = meta["train_cfg"]  # the few-shot defaults under the one option given
    assert (tc["epochs"], tc["schedule"], tc["validation"], tc["keep_old"], tc["rho_warmup"]) == \
        (1, "cosine", 0.2, 1, 0)
    base_decision = json.loads(BASE.with_suffix(".json").read_text())["decision"]
    assert summary["streaming"]["window_ms"] == meta["decision"]["window_ms"] == base_decision["window_ms"]
    assert meta["decision"]["min_confidence"] == base_decision["min_confidence"]
    assert (out / "firmware-int8" / "firmware.json").is_file()
    # the INT8 firmware folder runs in the live app's replay with the new class
    take = next(t for t in TakeSet.open(d).takes() if t.split == "test")
    line = cli("replay", take.path, "--model", out / "firmware-int8", "--headless", "--json", "--speed", "0")
    wins = [json.loads(x) for x in line.stdout.splitlines() if x.startswith("{")]
    assert wins and all(len(w["scores"]) == 13 for w in wins)
    streamed = summary["held_out_takes_streaming"]["push_both_hands"]
    assert streamed["windows"] >= 2 * 3 and 0 <= streamed["naming_it"] <= streamed["windows"]  # 2 takes of 1 s


def test_a_fresh_clone_generates_only_the_old_class_recordings_the_fine_tuning_needs(tmp_path, monkeypatch):
    """Without gestures-v2 on disk, fine-tuning generates keep_old training recordings per class and a few test
    ones beside where the full set would be (not all 2,880 of them), once; with the full set there, it is used."""
    from training import finetune
    from training.data import resolve, synth

    calls = []

    def fake_synth(kind, out, n_per_class, seed, split, progress, workers):
        calls.append((kind, Path(out).name, n_per_class, split))
        assert seed == 0
        Path(out).mkdir(parents=True, exist_ok=True)
        (Path(out) / "meta.json").write_text("{}")

    monkeypatch.setattr(synth, "synth_dataset", fake_synth)
    monkeypatch.setitem(resolve.SYNTH_DEFAULT, "gestures-v2", tmp_path / "synth-gestures-v2")
    model = str(REPO / "models" / "zoo" / "gestures-sast" / "model")
    got = finetune.old_classes_dataset(model, 30, progress=False)
    assert got == str(tmp_path / "synth-gestures-v2-finetune-30")
    assert calls == [("gestures-v2", "synth-gestures-v2-finetune-30", 30, "train"),
                     ("gestures-v2", "synth-gestures-v2-finetune-30", finetune.OLD_TEST_PER_CLASS, "test")]
    assert finetune.old_classes_dataset(model, 30, progress=False) == got and len(calls) == 2  # once
    (tmp_path / "synth-gestures-v2").mkdir()
    (tmp_path / "synth-gestures-v2" / "meta.json").write_text("{}")
    assert finetune.old_classes_dataset(model, 30, progress=False) is None  # the full set: used as it is
    assert finetune.old_classes_dataset(model, 0, progress=False) is None


def test_a_base_trained_on_a_union_takes_its_old_classes_from_the_first_part_when_a_part_is_missing(tmp_path,
                                                                                                     monkeypatch):
    """gestures-v2+gestures-v2-seed1 (40 people): with both folders on disk the union is used as it is; with one
    missing, the fine-tuning folder is generated from gestures-v2 alone (seed 0), not the whole union."""
    from training import finetune
    from training.data import resolve, synth

    calls = []

    def fake_synth(kind, out, n_per_class, seed, split, progress, workers):
        calls.append((kind, Path(out).name, seed, split))
        Path(out).mkdir(parents=True, exist_ok=True)
        (Path(out) / "meta.json").write_text("{}")

    monkeypatch.setattr(synth, "synth_dataset", fake_synth)
    for name in ("gestures-v2", "gestures-v2-seed1"):
        monkeypatch.setitem(resolve.SYNTH_DEFAULT, name, tmp_path / f"synth-{name}")
    base = tmp_path / "base"
    meta = json.loads((REPO / "models" / "zoo" / "gestures-sast" / "model.json").read_text())
    meta["train_cfg"]["dataset"] = "gestures-v2+gestures-v2-seed1"
    base.with_suffix(".json").write_text(json.dumps(meta))
    base.with_suffix(".safetensors").write_bytes((REPO / "models" / "zoo" / "gestures-sast" /
                                                  "model.safetensors").read_bytes())
    got = finetune.old_classes_dataset(str(base), 30, progress=False)
    assert got == str(tmp_path / "synth-gestures-v2-finetune-30")
    assert [c[0] for c in calls] == ["gestures-v2", "gestures-v2"] and {c[2] for c in calls} == {0}
    for name in ("gestures-v2", "gestures-v2-seed1"):
        (tmp_path / f"synth-{name}").mkdir()
        (tmp_path / f"synth-{name}" / "meta.json").write_text("{}")
    assert finetune.old_classes_dataset(str(base), 30, progress=False) is None
