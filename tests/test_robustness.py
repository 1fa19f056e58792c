"""The robustness grid: recordings moved, resized, turned and re-timed (sast_live.transforms.geometry), and
``evaluate --robustness`` over them at INT8."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from sast_live.errors import SastLiveError
from sast_live.events import make_events
from sast_live.transforms.geometry import Warp, warp
from tests.conftest import REPO

SENSOR = (128, 128)


def square(n=4000, seed=0):
    """Events on the outline of a 40-px square centred on the sensor, over 1 s."""
    rng = np.random.default_rng(seed)
    side = rng.integers(0, 4, n)
    u = rng.integers(44, 84, n)
    x = np.where(side < 2, u, np.where(side == 2, 44, 83))
    y = np.where(side == 0, 44, np.where(side == 1, 83, u))
    return make_events(np.sort(rng.integers(0, 1_000_000, n)), x, y, rng.integers(0, 2, n))


def test_the_nominal_warp_changes_nothing_and_a_shift_moves_every_event_by_it():
    ev = square()
    assert np.array_equal(warp(ev, SENSOR, Warp()), ev)
    moved = warp(ev, SENSOR, Warp(shift=(20, -5)), seed=3)
    # a sub-pixel offset u in [0, 1) is added and floored: an integer shift moves each event by exactly that
    assert len(moved) == len(ev) and np.array_equal(np.sort(moved["x"]), np.sort(ev["x"] + 20))
    assert np.array_equal(np.sort(moved["y"]), np.sort(ev["y"] - 5))


def test_scale_rotation_and_speed_do_what_they_say():
    ev = square()
    half = warp(ev, SENSOR, Warp(scale=0.5))
    assert half["x"].min() >= 64 - 11 and half["x"].max() <= 64 + 11  # the 40-px square is 20 px now
    big = warp(ev, SENSOR, Warp(scale=1.5))
    assert big["x"].max() - big["x"].min() >= 58 and len(big) == len(ev)  # 60 px, every event kept in view
    # enlarged edges are filled, not dotted: the top edge's pixels are almost all hit
    top = big[big["y"] == big["y"].min()]
    assert len(np.unique(top["x"])) >= 0.8 * (top["x"].max() - top["x"].min())
    turned = warp(ev, SENSOR, Warp(rotation=90.0))
    assert abs(turned["x"].mean() - 64) < 1.5 and abs(turned["y"].mean() - 64) < 1.5
    fast = warp(ev, SENSOR, Warp(speed=2.0))
    assert fast["t"][-1] == round(ev["t"][-1] / 2) and np.all(np.diff(fast["t"]) >= 0)
    out = warp(ev, SENSOR, Warp(shift=(60, 0)))
    assert 0 < len(out) < len(ev) and out["x"].max() == 127  # what leaves the sensor is dropped


@pytest.mark.parametrize("kwargs,msg", [({"scale": 0.0}, "scale 0.0 is out of range"),
                                        ({"speed": float("nan")}, "speed nan is out of range"),
                                        ({"rotation": 200.0}, "rotation 200.0 is out of range"),
                                        ({"shift": (500, 0)}, "shift 500 is out of range"),
                                        ({"shift": (2.5, 0)}, "must be whole pixels")])
def test_impossible_geometry_is_one_clear_error(kwargs, msg):
    with pytest.raises(SastLiveError, match=msg):
        Warp(**kwargs)


def test_a_grid_is_parsed_and_checked_before_any_work():
    from training.evaluation.robustness import DEFAULT_GRID, grid_points, parse_grid

    assert parse_grid(["scale=0.6,1.5", "speed=0.8"]) == {"scale": (0.6, 1.5), "speed": (0.8,)}
    assert parse_grid(["sensor=dvs128,atis"]) == {"sensor": ("dvs128", "atis")}
    assert [p.label() for p in grid_points({"shift": (-20,)})] == ["nominal", "shift -20,+0 px"]
    assert [p.label() for p in grid_points({"sensor": ("dvxplorer",)})] == ["nominal", "sensor dvxplorer"]
    assert len(grid_points(DEFAULT_GRID)) == 17
    for bad, msg in ((["scale=9"], "scale 9.0 is out of range"), (["zoom=2"], "unknown robustness axis 'zoom'"),
                     (["scale=a"], "give AXIS=V1,V2"), (["scale="], "give AXIS=V1,V2"),
                     (["sensor=kinect"], "unknown sensor profile 'kinect'; choose dvs128")):
        with pytest.raises(SastLiveError, match=msg):
            parse_grid(bad)


@pytest.mark.slow
def test_evaluate_robustness_on_the_tiny_set(tmp_path, tiny_gestures_v2):
    """The shipped model over the grid on the 12 shared test recordings: every point reported, nominal equal to
    the report's own INT8 accuracy, a table and a PNG; a bad grid value is one line and exit code 2."""
    main = [sys.executable, str(REPO / "main.py")]
    model = REPO / "models" / "zoo" / "gestures-sast" / "model"
    done = subprocess.run(main + ["evaluate", str(model), "--dataset", str(tiny_gestures_v2), "--no-corruptions",
                                  "--hardware", "int8", "--grid", "scale=0.6", "speed=1.6", "sensor=dvs128", "--out",
                                  str(tmp_path / "ev"), "--quiet"], capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    report = json.loads((tmp_path / "ev" / "report.json").read_text())
    g = report["geometry"]
    assert [p["point"] for p in g["points"]] == ["nominal", "scale 0.6", "speed 1.6×", "sensor dvs128"]
    assert g["n"] == 12
    assert g["points"][0]["accuracy"] == report["hardware"]["int8"]["accuracy"]
    assert all(0 <= p["accuracy"] <= 1 for p in g["points"])
    # the nominal point's per-class recalls are the INT8 confusion matrix's diagonal over its rows
    conf = np.asarray(report["confusion"]["int8"])
    classes = json.loads((model.with_suffix(".json")).read_text())["model_cfg"]["classes"]
    expected = {name: conf[c, c] / conf[c].sum() for c, name in enumerate(classes) if conf[c].sum()}
    assert g["points"][0]["recall"] == pytest.approx(expected)
    assert all(0 <= v <= 1 for p in g["points"] for v in p["recall"].values())
    assert "## Robustness grid" in (tmp_path / "ev" / "report.md").read_text()
    assert (tmp_path / "ev" / "robustness-grid.png").stat().st_size > 5_000
    printed = json.loads(done.stdout.splitlines()[-1])
    assert printed["robustness_grid"]["scale 0.6"] == g["points"][1]["accuracy"]
    assert printed["robustness_grid_mean"] == pytest.approx(np.mean([p["accuracy"] for p in g["points"]]))
    right = sum(round(p["accuracy"] * 12) for p in g["points"])
    assert f"Mean over the 4 points: {printed['robustness_grid_mean']:.4f} ({right} of 48 right)." in \
        (tmp_path / "ev" / "report.md").read_text()
    bad = subprocess.run(main + ["evaluate", str(model), "--dataset", str(tiny_gestures_v2), "--grid", "speed=9"],
                         capture_output=True, text=True, timeout=120)
    assert bad.returncode == 2 and bad.stderr.strip().splitlines() == ["error: speed 9.0 is out of range: it must be "
                                                                      "0.25 … 4"]


def test_a_sensor_profile_that_does_not_exist_is_one_line_from_the_command_line():
    model = REPO / "models" / "zoo" / "gestures-sast" / "model"
    bad = subprocess.run([sys.executable, str(REPO / "main.py"), "evaluate", str(model), "--grid", "sensor=kinect"],
                         capture_output=True, text=True, timeout=120)
    assert bad.returncode == 2
    assert bad.stderr.strip().splitlines() == ["error: unknown sensor profile 'kinect'; choose dvs128, davis346, "
                                               "dvxplorer, atis, prophesee-gen3, prophesee-gen4"]
