"""The recording statistics of the realism report, and the report itself on the real files and a few synthetic
recordings."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from sast_live.errors import SastLiveError
from sast_live.events import make_events
from sast_live.recording_stats import recording_stats
from tests.conftest import REPO


def test_noise_spreads_and_an_edge_concentrates():
    rng = np.random.default_rng(0)
    n = 20_000
    noise = make_events(np.sort(rng.integers(0, 2_000_000, n)), rng.integers(0, 128, n), rng.integers(0, 128, n),
                        rng.integers(0, 2, n))
    t = np.arange(n) * 100  # a vertical ON edge sweeping right, 2 s
    edge = make_events(t, (t // 15_625) % 128, np.arange(n) % 128, np.ones(n, np.int64))
    a, b = recording_stats(noise, (128, 128)), recording_stats(edge, (128, 128))
    assert abs(a["events_per_s"] - n / 2) < 50 and 0.9 < a["on_off"] < 1.1 and b["on_off"] == n
    assert a["share_90"] > 0.5 and a["supported"] < 0.2  # everywhere, uncorrelated
    assert b["supported"] > 0.9  # every event has a neighbour that just fired
    # the unsupported events per pixel per second: nearly all of the noise (10,000/s over 16,384 pixels)
    assert 0.8 * 10_000 / 16_384 < a["ba_hz"] <= 10_000 / 16_384 and b["ba_hz"] < 0.1 * a["ba_hz"]
    assert abs(sum(a["rate_hist"]) - 1) < 1e-9 and abs(sum(b["iei_hist"]) - 1) < 1e-9
    with pytest.raises(SastLiveError, match="no statistics"):
        recording_stats(noise[:1], (128, 128))


@pytest.mark.slow
def test_the_realism_report_sets_synthetic_beside_real(tmp_path, real_dir, tiny_gestures_v2):
    main = [sys.executable, str(REPO / "main.py")]
    done = subprocess.run(main + ["data", "realism", "--synthetic", str(tiny_gestures_v2), "--out",
                                  str(tmp_path / "r")], capture_output=True, text=True, timeout=600, cwd=REPO)
    assert done.returncode == 0, done.stderr[-2000:]
    report = json.loads((tmp_path / "r" / "realism.json").read_text())
    kinds = set(report["ranges"])
    assert {"ATIS (N-CARS)", "ATIS (N-MNIST)", "Prophesee Gen3", "Prophesee Gen4", "DVXplorer",
            f"dataset {tiny_gestures_v2.name}"} <= kinds
    assert len([r for r in report["recordings"] if r["kind"] == f"dataset {tiny_gestures_v2.name}"]) == 12
    assert "| DVXplorer | 1 |" in (tmp_path / "r" / "realism.md").read_text()
    assert abs(report["fitted"]["sample.aedat4"]["ba_hz"] - 1.65) < 0.01  # the DVXplorer profile's fitted value
    assert (tmp_path / "r" / "realism.png").stat().st_size > 20_000
    empty = tmp_path / "empty.npy"
    np.save(empty, make_events([], [], [], []))
    bad = subprocess.run(main + ["data", "realism", str(empty), "--per-class", "0", "--out", str(tmp_path / "x")],
                         capture_output=True, text=True, timeout=120, cwd=REPO)
    assert bad.returncode == 2 and bad.stderr.strip().splitlines()[-1].startswith("error:"), bad.stderr[-500:]


def test_each_profile_is_held_to_the_real_files_of_its_camera_and_says_why_not():
    from training.data.realism import DVS128_REVIEW, sensor_comparison

    rng = {"on_off": [1.0, 1.0], "ba_hz": [1.0, 2.0], "ba_cluster": [0.05, 0.1], "share_90": [0.3, 0.4],
           "pixels_ge_1hz": [0.1, 0.2]}
    report = {"ranges": {"DVXplorer": {"on_off": [0.97, 0.97], "ba_hz": [1.65, 1.65], "ba_cluster": [0.1, 0.1]},
                         "synthetic gestures-v3 (dvxplorer)": rng, "synthetic gestures-v3 (dvs128)": rng},
              "dvs128_review": DVS128_REVIEW}
    rows = {(r["profile"], r["stat"]): r for r in sensor_comparison(report)}
    assert rows[("dvxplorer", "on_off")]["verdict"] == "outside" and rows[("dvxplorer", "on_off")]["why"]
    assert rows[("dvxplorer", "ba_hz")]["verdict"] == "overlaps"
    assert rows[("dvxplorer", "ba_cluster")]["verdict"] == "overlaps"
    assert rows[("dvs128 (review of people)", "share_90")]["verdict"] == "outside"
    assert rows[("dvs128 (review of people)", "pixels_ge_1hz")] == {
        "profile": "dvs128 (review of people)", "stat": "pixels_ge_1hz", "real": [0.07, 0.21],
        "synthetic": [0.1, 0.2], "verdict": "inside", "why": ""}


def test_the_noise_clustering_kernel_equals_its_twin():
    from sast_live.recording_stats import _neighbours_reference, neighbour_share

    rng = np.random.default_rng(7)
    n = 3000
    ev = make_events(np.sort(rng.integers(0, 200_000, n)), rng.integers(0, 40, n), rng.integers(0, 30, n),
                     rng.integers(0, 2, n))
    for within in (0, 500, 5000):
        assert neighbour_share(ev, (40, 30), within) == neighbour_share(ev, (40, 30), within, _neighbours_reference)
    assert 0 < neighbour_share(ev, (40, 30), 5000) <= 1
