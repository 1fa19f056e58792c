"""Shared fixtures: paths to the real recordings in ../shared/data/real (never modified); the suite's scheduling."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from training.data.resolve import shared_data

REPO = Path(__file__).resolve().parents[1]
REAL = shared_data()
NMNIST_SMALL = REAL / "slayer-nmnist" / "NMNISTsmall"

if os.environ.get("PYTEST_XDIST_WORKER"):
    # one compute thread per worker (and per subprocess it starts): the workers already fill the cores, and two
    # workers each running torch's two threads on two cores spent their time switching
    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(var, "1")


@pytest.fixture(autouse=True)
def own_settings(tmp_path_factory, monkeypatch):
    """Each test's windows remember their settings in a folder of their own: never the user's, and never what an
    earlier test left (a window's size, docks, colours)."""
    monkeypatch.setenv("SAST_LIVE_CONFIG_DIR", str(tmp_path_factory.mktemp("settings")))


def main_in_process(capsys, *args, ok=True):
    """``main.py ARGS`` in this process — the same parser and handlers, without a new interpreter's start-up (a
    few seconds each on 2 cores) — as ``(returncode, stdout, stderr)`` attributes; ``ok``: it must exit 0."""
    from types import SimpleNamespace

    import main as entry

    try:
        code = entry.main([str(a) for a in args])
    except SystemExit as exc:  # the parser's own refusals
        code = exc.code
    out, err = capsys.readouterr()
    if ok:
        assert code == 0, err[-3000:]
    return SimpleNamespace(returncode=code, stdout=out, stderr=err)


def pytest_configure(config) -> None:
    """Before the workers start (in the controlling process only): the numba kernels the workers and the
    ``main.py`` processes the tests start would use, compiled once into numba's cache beside the sources — the
    stand-in person's renderer in a process of its own (about 21 s cold), beside binning, the filters, the INT8
    network, the EVT3/EVT2 codecs and the eDVS wire format here (about 13 s). A fresh clone has no cache, and each
    process compiled them for itself side by side: the renderer alone in every process that made takes or a tiny
    dataset, at the start of the run where the longest tests begin. Once cached, this takes a second or two."""
    if os.environ.get("PYTEST_XDIST_WORKER"):
        return
    import subprocess
    import sys
    import tempfile

    renderer = subprocess.Popen([sys.executable, "-c", "from sast_live.synthetic.people import make_sample, subject; "
                                 "make_sample(0, 1, subject(0), 'led', 0.2)"], cwd=REPO)
    from firmware_sim.precisions import PRECISIONS
    from sast_live.events import SensorSize
    from sast_live.formats.registry import open_events, read_events, write_events
    from sast_live.pipeline import load_backend
    from sast_live.pipeline.pipeline import warm_up
    from sast_live.wire.edvs import EdvsState, decode_edvs, encode_edvs

    warm_up(load_backend(None, PRECISIONS["int8"]), SensorSize(128, 128))
    events = read_events(REPO / "sast_live" / "assets" / "demo_gestures.raw")[:5000]  # the EVT3 decoder
    with tempfile.TemporaryDirectory() as tmp:
        write_events(Path(tmp) / "x.raw", events, (128, 128))  # and its encoder
    evt2 = REAL / "expelliarmus" / "evt2_sample.raw"
    if evt2.is_file():
        next(iter(open_events(evt2).windows(10_000)))
    decode_edvs(encode_edvs(events), EdvsState())
    renderer.wait()


def pytest_xdist_auto_num_workers(config) -> int:
    """``-n auto``: one worker per core (at least 2). Two per core was faster (3 min 57 s against about 4 min 20 s
    on 2 cores) but starved the tests that time a live stream: a live camera then lost events it never loses
    otherwise (tests/test_live_cli.py, 1 run in 5)."""
    return max(2, os.cpu_count() or 1)


#: the longest tests on 2 cores (25–55 s each in a fresh clone, 2026-12-06): started before every other test, so
#: none of them begins late and ends the run alone
LONGEST = ("test_teach_a_new_motion_in_seconds_keeping_the_old_classes",
           "test_the_teach_panel_records_held_and_timed_takes_replays_deletes_and_teaches",
           "test_overloaded_runs_exit_cleanly", "test_a_full_fine_tuning_on_takes_end_to_end")


def pytest_collection_modifyitems(config, items):
    """The longest tests first, then the other slow ones: the workers take tests in this order, so the longest start
    early and the short ones fill in around them (started last, one long test would make the run as long as itself
    plus all before it)."""
    items.sort(key=lambda item: (item.originalname not in LONGEST, item.get_closest_marker("slow") is None))


def shared_dir(tmp_path_factory, worker_id, name: str) -> Path:
    """A path in this test run's folder that every worker sees (each worker has a base folder of its own under a
    common parent); a fixture makes it once, under a file lock beside it, for all of them."""
    root = tmp_path_factory.getbasetemp()
    return (root if worker_id == "master" else root.parent) / name


@pytest.fixture(scope="session")
def push_takes(tmp_path_factory, worker_id) -> Path:
    """8 takes of push_both_hands (a motion none of the 11 classes is) by the stand-in person, 1 s each (6 to fit, 2
    held out), recorded once per test run by ``main.py record`` in a process of its own and shared by every worker
    (never written to by a test)."""
    import subprocess
    import sys

    from filelock import FileLock

    d = shared_dir(tmp_path_factory, worker_id, "teach-readout-takes")
    with FileLock(str(d) + ".lock"):
        if not (d / "meta.json").is_file():
            done = subprocess.run([sys.executable, str(REPO / "main.py"), "record", "synthetic:people:push_both_hands",
                                   "--label", "push_both_hands", "--dataset", str(d), "--takes", "8", "--seconds",
                                   "1.0", "--gap", "0.2", "--speed", "0", "--quiet"],
                                  capture_output=True, text=True, cwd=REPO, timeout=600)
            assert done.returncode == 0, done.stderr[-3000:]
    return d


@pytest.fixture(scope="session")
def tiny_gestures_v2(tmp_path_factory, worker_id) -> Path:
    """One gestures-v2 recording of each class in each split (24), made once per test run and shared by every
    worker (a file lock: the first worker to ask generates it, the others wait and read). Made as ``data synth``
    makes a dataset in two runs, the test split and then the train split into the same folder (the second run
    adds to the first: tests/test_people.py checks the result). Never written to by a test."""
    from filelock import FileLock

    from training.data.synth import synth_dataset

    path = shared_dir(tmp_path_factory, worker_id, "tiny-gestures-v2")
    with FileLock(str(path) + ".lock"):
        if not (path / "meta.json").is_file() or len(list(path.rglob("*.raw"))) < 24:
            # two processes: the workers that asked meanwhile wait on the lock, so their cores are free
            synth_dataset("gestures-v2", path, n_per_class=1, split="test", progress=False, workers=2)
            synth_dataset("gestures-v2", path, n_per_class=1, split="train", progress=False, workers=2)
    return path


@pytest.fixture(scope="session")
def small_bank_model(tmp_path_factory, worker_id) -> Path:
    """A copy of the shipped gesture model whose feature bank keeps only its first 8 fit, 4 validation and 4 test
    recordings per class (the shipped bank holds 96, 24 and 20): for tests of teaching's mechanics (the panel, the
    commands it runs), where a fit on 12,000 windows would only cost time. The figures tests teach the shipped model
    itself. Made once per test run, shared by every worker; never written to by a test."""
    import shutil

    import numpy as np
    from filelock import FileLock

    from sast_live.model_info import bank_path
    from sast_live.pipeline.backends import DEFAULT_MODEL
    from training.teach.bank import PARTS, Bank

    folder = shared_dir(tmp_path_factory, worker_id, "small-bank-model")
    model = folder / "model"
    with FileLock(str(folder) + ".lock"):
        if not bank_path(model).is_file():
            folder.mkdir(parents=True, exist_ok=True)
            for suffix in (".json", ".safetensors"):
                shutil.copy((DEFAULT_MODEL / "model").with_suffix(suffix), model.with_suffix(suffix))
            bank = Bank.load(bank_path(DEFAULT_MODEL / "model"))
            keep = np.zeros(len(bank), bool)
            for part, n in zip(PARTS, (8, 4, 4, 4), strict=True):
                for c in range(len(bank.classes)):
                    keep[np.flatnonzero((bank.parts == PARTS.index(part)) & (bank.labels == c))[:n]] = True
            bank.keeping(keep).save(bank_path(model))
    return model


@pytest.fixture(scope="session")
def real_dir() -> Path:
    if not REAL.is_dir():
        pytest.fail(f"the real recordings are missing: {REAL} (set SAST_SHARED_DATA)")
    return REAL


@pytest.fixture(autouse=True)
def _qt_garbage_is_collected_on_the_gui_thread(request):
    """Windows are freed here, on the GUI thread, never by a pipeline thread. A closed window is kept alive by the
    reference cycles its signal connections make; left to the automatic collector it is freed by whichever thread
    allocates next — often a pipeline worker inside numba or NumPy — and Qt widgets deleted off the GUI thread
    crash the process (the worker segfaults seen in tests/test_gui_demo.py). So during a test that uses Qt the
    automatic collector is off, and after it the garbage is collected here."""
    import gc

    if "qapp" not in request.fixturenames:
        yield
        return
    from PyQt6 import QtCore, QtWidgets

    gc.disable()
    try:
        yield
    finally:
        gc.enable()
    gc.collect()
    QtCore.QCoreApplication.sendPostedEvents(None, QtCore.QEvent.Type.DeferredDelete)
    QtWidgets.QApplication.processEvents()
