"""End to end through the CLI: the emulated camera on a pseudo-terminal → ``live`` == ``replay``; ``record``."""

from __future__ import annotations

import json
import subprocess
import sys
import time

import numpy as np
import pytest

from sast_live.formats.registry import read_events, write_events
from tests.conftest import REPO
from tests.test_wire import DEMO

MAIN = [sys.executable, str(REPO / "main.py")]


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    """The first 3.2 s of the demo: one pause longer than a 16-bit wrap (2.0–2.2 s) inside."""
    ev = read_events(DEMO)
    path = tmp_path_factory.mktemp("clip") / "clip.raw"
    write_events(path, ev[ev["t"] < 3_200_000], (128, 128))
    return path


def windows(stdout: str) -> list[dict]:
    return [json.loads(line) for line in stdout.splitlines() if line.startswith("{")]


def start_camera(path, *extra):
    proc = subprocess.Popen(MAIN + ["emulate-camera", str(path), *extra], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, cwd=REPO)
    port = proc.stdout.readline().strip()
    assert port.startswith("/dev/"), proc.stderr.read()
    return proc, port


@pytest.mark.parametrize("protocol,speed", [("edvs", "1"), ("framed", "3")])
def test_live_from_the_emulated_camera_predicts_what_replay_predicts(clip, protocol, speed):
    replay = subprocess.run(MAIN + ["replay", str(clip), "--headless", "--json"], capture_output=True, text=True,
                            cwd=REPO, timeout=300)
    assert replay.returncode == 0, replay.stderr
    camera, port = start_camera(clip, "--protocol", protocol, "--speed", speed)
    live = subprocess.run(MAIN + ["live", port, "--protocol", protocol, "--headless", "--json", "--reconnect-s",
                                  "0.5"], capture_output=True, text=True, cwd=REPO, timeout=300)
    camera.communicate(timeout=30)
    assert live.returncode == 0, live.stderr
    full = [w for w in windows(replay.stdout) if not w["partial"]]
    # live cannot know the stream ended: silence after it still closes bins, so its last window may be full
    got = [w for w in windows(live.stdout) if not w["partial"]][:len(full)]
    assert len(full) == 3
    # eDVS times are the file's modulo 2^16 plus the unwrapped wraps; here both start below 65.5 ms
    keys = ("t_start_us", "t_end_us", "class", "name", "scores", "synops", "events")
    assert [{k: w[k] for k in keys} for w in got] == [{k: w[k] for k in keys} for w in full]


def test_live_survives_byte_errors_and_reports_them(clip):
    camera, port = start_camera(clip, "--speed", "4", "--byte-errors", "0.002", "--seed", "3")
    live = subprocess.run(MAIN + ["live", port, "--headless", "--json", "--reconnect-s", "0.5"],
                          capture_output=True, text=True, cwd=REPO, timeout=300)
    camera.communicate(timeout=30)
    assert live.returncode == 0, live.stderr
    assert len(windows(live.stdout)) >= 2
    assert "resyncs" in live.stderr and "lost" in live.stderr


def test_record_saves_any_source(tmp_path, clip):
    out = tmp_path / "copy.npy"
    done = subprocess.run(MAIN + ["record", str(clip), str(out), "--speed", "0", "--quiet"], capture_output=True,
                          text=True, cwd=REPO, timeout=300)
    assert done.returncode == 0, done.stderr
    np.testing.assert_array_equal(read_events(out), read_events(clip))
    assert not (tmp_path / "copy.npy.part").exists()
    bad = subprocess.run(MAIN + ["record", str(clip), str(tmp_path / "x.unknown")], capture_output=True, text=True,
                         cwd=REPO, timeout=300)
    assert bad.returncode == 2 and "cannot tell the output format" in bad.stderr


def test_recording_a_serial_camera(tmp_path, clip):
    camera, port = start_camera(clip, "--speed", "4")
    out = tmp_path / "cam.raw"
    t0 = time.monotonic()
    done = subprocess.run(MAIN + ["record", f"edvs:{port}", str(out), "--reconnect-s", "0.3", "--quiet"],
                          capture_output=True, text=True, cwd=REPO, timeout=300)
    camera.communicate(timeout=30)
    assert done.returncode == 0, done.stderr
    got, want = read_events(out), read_events(clip)
    np.testing.assert_array_equal(got[["x", "y", "p"]], want[["x", "y", "p"]])
    assert time.monotonic() - t0 < 120


def gui_env() -> dict:
    import os

    return dict(os.environ, QT_QPA_PLATFORM="offscreen")


def test_live_in_the_gui_shows_the_emulated_camera(clip):
    """``main.py live PORT`` without --headless: the window on the serial camera (offscreen Qt), every source
    option accepted; it closes itself after N frames and reports what it showed."""
    camera, port = start_camera(clip, "--speed", "2")
    done = subprocess.run(MAIN + ["live", port, "--protocol", "edvs", "--baud", "12000000", "--reconnect-s", "0.5",
                                  "--frames", "40"], capture_output=True, text=True, cwd=REPO, timeout=300,
                          env=gui_env())
    camera.kill()
    camera.communicate(timeout=30)
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    stats = json.loads(done.stdout.strip().splitlines()[-1])
    assert stats["frames"] == 40 and stats["error"] is None
    assert stats["source"].startswith(f"edvs camera on {port}") and stats["events"] > 1000
    assert "int8" in stats["backend"]


def test_gui_on_a_file_takes_every_source_option(clip):
    done = subprocess.run(MAIN + ["gui", str(clip), "--speed", "2", "--baud", "115200", "--sensor-size", "128x128",
                                  "--reconnect-s", "1", "--protocol", "framed", "--no-loop", "--precision", "int4",
                                  "--denoise", "--refractory-us", "500", "--frames", "20"],
                          capture_output=True, text=True, cwd=REPO, timeout=300, env=gui_env())
    assert done.returncode == 0, done.stderr
    stats = json.loads(done.stdout.strip().splitlines()[-1])
    assert stats["frames"] == 20 and stats["events"] > 0 and "int4" in stats["backend"]
    bad = subprocess.run(MAIN + ["gui", str(clip), "--speed", "-1", "--frames", "5"], capture_output=True, text=True,
                         cwd=REPO, timeout=300, env=gui_env())
    assert bad.returncode == 2 and "--speed must be a positive factor" in bad.stderr


def test_a_reader_that_leaves_early_ends_replay_quietly():
    """``replay … --json | head -1``: the windows are printed on the worker thread; a closed pipe still ends the
    command quietly with exit code 0, as the shell expects of a filter."""
    proc = subprocess.Popen(MAIN + ["replay", str(DEMO), "--headless", "--json"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, cwd=REPO)
    first = proc.stdout.readline()
    proc.stdout.close()
    _, err = proc.communicate(timeout=300)
    assert json.loads(first)["bins"] == 40
    assert proc.returncode == 0 and "error" not in err and "Traceback" not in err


def test_live_with_host_stalls_and_a_cold_numba_cache_predicts_what_replay_predicts(clip, tmp_path):
    """The first `live` after install compiles every kernel, and the host process is stopped (SIGSTOP) three
    times for 0.12 s mid-stream while the camera keeps sending: bytes wait in the line, but that wait is not a
    pause of the camera, so no wrap is invented and the windows are replay's."""
    import os
    import signal

    replay = subprocess.run(MAIN + ["replay", str(clip), "--headless", "--json"], capture_output=True, text=True,
                            cwd=REPO, timeout=300)
    camera, port = start_camera(clip)
    cold = dict(os.environ, NUMBA_CACHE_DIR=str(tmp_path / "numba-cache"))  # nothing compiled yet
    live = subprocess.Popen(MAIN + ["live", port, "--headless", "--json", "--reconnect-s", "0.5"], cwd=REPO,
                            env=cold, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    line = camera.stderr.readline()
    while line and not line.startswith("# streaming"):  # the host's E+ came: it compiled everything before
        line = camera.stderr.readline()
    assert line.startswith("# streaming")
    t0 = time.monotonic()
    for at in (0.3, 1.1, 1.7):  # seconds into the stream (the camera is silent from 2.0 to 2.2 s)
        time.sleep(max(0.0, t0 + at - time.monotonic()))
        live.send_signal(signal.SIGSTOP)
        time.sleep(0.12)
        live.send_signal(signal.SIGCONT)
    out, err = live.communicate(timeout=300)
    camera.communicate(timeout=30)
    assert live.returncode == 0, err
    full = [w for w in windows(replay.stdout) if not w["partial"]]
    got = [w for w in windows(out) if not w["partial"]][:len(full)]
    keys = ("t_start_us", "t_end_us", "class", "name", "scores", "synops", "events", "dropped_bins")
    assert [{k: w[k] for k in keys} for w in got] == [{k: w[k] for k in keys} for w in full]
    assert list(tmp_path.glob("numba-cache/**/*.nbi"))  # the cache really started empty and was filled
