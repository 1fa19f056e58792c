"""``main.py scenes``: outside footage with no gesture replayed through the app, issue 29's maintainers' check."""

from __future__ import annotations

import json

import numpy as np

from sast_live.events import SensorSize, make_events
from sast_live.formats.evt3 import write_evt3
from sast_live.sources import DEMO
from tests.conftest import main_in_process


def noise_file(path, width, height, seconds, rate_hz=2.0, seed=0):
    """Uniform background activity on a ``width``×``height`` sensor, written as EVT3."""
    rng = np.random.default_rng(seed)
    n = int(rate_hz * width * height * seconds)
    ev = make_events(np.sort(rng.integers(0, int(seconds * 1e6), n)), rng.integers(0, width, n),
                     rng.integers(0, height, n), rng.integers(0, 2, n))
    write_evt3(path, ev, SensorSize(width, height))
    return path


def test_short_footage_is_looped_larger_sensors_seen_pooled_and_cropped_and_the_bar_judged(capsys, tmp_path):
    """A 1 s clip from a 640×480 camera: pooled and centre-cropped, each looped to fill 4 s (15 full windows of the
    app's 500 ms window every 250 ms); quiet noise passes the bar (exit 0 even with --strict) and the JSON says so."""
    clip = noise_file(tmp_path / "room.raw", 640, 480, 1.0)
    out = tmp_path / "r.json"
    r = main_in_process(capsys, "scenes", clip, "--json", out, "--strict", "--quiet")
    report = json.loads(out.read_text())
    views = report["views"]
    assert sorted(views) == [f"{clip}, centre crop", f"{clip}, pooled"]
    assert all(v["looped"] and v["windows"] == 15 and abs(v["seconds"] - 4.0) < 0.01 for v in views.values())
    s = report["summary"]
    assert s["windows"] == 30 and s["claims_at_80"] == 0 and s["passes"] and "within issue 29's bar" in r.stdout
    r = main_in_process(capsys, "scenes", clip, "--fit", "crop", "--quiet")
    assert "centre crop" in r.stdout and "pooled" not in r.stdout


def test_footage_with_gestures_in_it_fails_the_bar_and_strict_says_so(capsys, tmp_path):
    """The bundled demo (a person making gestures, 128×128, longer than 4 s: streamed whole, once) is what the
    check must catch: over the bar, and exit status 3 with --strict — so the check can fail."""
    out = tmp_path / "r.json"
    r = main_in_process(capsys, "scenes", DEMO, "--json", out, "--quiet")
    report = json.loads(out.read_text())
    (view,) = report["views"].values()
    assert not view["looped"] and view["seconds"] > 4 and view["windows"] > 15
    assert not report["summary"]["passes"] and report["summary"]["share_at_80"] > 0.05 and "OVER" in r.stdout
    assert main_in_process(capsys, "scenes", DEMO, "--strict", "--quiet", ok=False).returncode == 3


def test_the_held_out_real_scenes_as_the_maintainers_would_replay_them(capsys, real_dir):
    """The repository's held-out real scenes through ``scenes``: each file read in its own format (EVT3, AEDAT4,
    DAT), the Gen4 and DVXplorer cameras seen pooled and cropped, the N-CARS clip (ATIS, no larger than 128×128)
    as recorded; every view looped to full windows."""
    files = [real_dir / "expelliarmus" / "evt3_test_pedestrians.raw", real_dir / "tonic" / "sample.aedat4",
             real_dir / "tonic" / "sample_ncars.dat"]
    r = main_in_process(capsys, "scenes", *files, "--quiet")
    rows = [line for line in r.stdout.splitlines() if line.startswith(f"| {real_dir}")]
    assert len(rows) == 5 and all("(looped) |" in row and "| 15 |" in row for row in rows)
    assert "5 views of 3 files: 75 full windows" in r.stdout


def test_bad_footage_is_named_in_one_line(capsys, tmp_path):
    r = main_in_process(capsys, "scenes", tmp_path / "missing.raw", ok=False)
    assert r.returncode == 2 and "missing.raw: no such file or folder" in r.stderr and "Traceback" not in r.stderr
    (tmp_path / "empty").mkdir()
    r = main_in_process(capsys, "scenes", tmp_path / "empty", ok=False)
    assert r.returncode == 2 and "a folder with no event file" in r.stderr
    (tmp_path / "junk.raw").write_bytes(b"not an event file")
    r = main_in_process(capsys, "scenes", tmp_path / "junk.raw", "--quiet", ok=False)
    assert r.returncode == 2 and "no footage could be replayed" in r.stderr and "junk.raw" in r.stderr
    good = noise_file(tmp_path / "quiet.raw", 128, 128, 0.6)
    r = main_in_process(capsys, "scenes", tmp_path / "junk.raw", good, "--quiet")  # one bad file does not end it
    assert f"skipped {tmp_path / 'junk.raw'}" in r.stdout and "1 view of 1 file" in r.stdout
    r = main_in_process(capsys, "scenes", good, "--min-seconds", "0", ok=False)
    assert r.returncode == 2 and "--min-seconds must be positive" in r.stderr
    r = main_in_process(capsys, "scenes", good, "--model", "models/zoo/nmnist-real-sast/model", ok=False)
    assert r.returncode == 2 and "scenes checks a gesture model" in r.stderr


def test_labelled_dvs_gesture_footage_in_tonics_layout_is_evaluated_with_the_grid(capsys, tmp_path):
    """The other route to real footage: DVS Gesture, as tonic stores it (``ibmGestureTest/<user>/<class>.npy``,
    float x, y, p, t in ms), evaluated with the default 12-class model at INT8 over a grid — here three of the
    demo's gestures cut out and written in that layout. The folder holds the test part alone (it is read alone)."""
    from sast_live.formats.dvs_gesture import labels_path_for, read_gesture_labels
    from sast_live.formats.registry import read_events

    events = read_events(DEMO)
    user = tmp_path / "DVSGesture" / "ibmGestureTest" / "user24_led"
    user.mkdir(parents=True)
    for k, start, end in read_gesture_labels(labels_path_for(DEMO))[:3]:
        ev = events[(events["t"] >= start) & (events["t"] < end)]
        np.save(user / f"{k}.npy", np.stack([ev["x"], ev["y"], ev["p"], (ev["t"] - start) / 1000.0], 1))
    out = tmp_path / "eval"
    main_in_process(capsys, "evaluate", "models/zoo/gestures-sast-geometry10/model", "--dataset",
                    tmp_path / "DVSGesture", "--hardware", "int8", "--no-corruptions", "--grid", "scale=0.75",
                    "--out", out, "--quiet")
    report = json.loads((out / "report.json").read_text())
    assert report["n_test"] == 3 and report["dataset"].endswith("DVSGesture")
    grid = (out / "report.md").read_text()
    assert "Accuracy at int8 on the 3 test recordings" in grid and "| scale 0.75 |" in grid
