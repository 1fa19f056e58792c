"""The shipped checkpoints load without pickle and reproduce their committed reports."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from models.checkpoint.weights import load_model
from models.networks import model_summary
from training.data.frames import FrameCache
from training.data.resolve import resolve_datasets
from training.inference import evaluate_accuracy

ZOO = Path(__file__).resolve().parents[1] / "models" / "zoo"
NAMES = ["nmnist-real-baseline", "nmnist-real-sast", "gestures-baseline", "gestures-sast", "gestures-sast-geometry",
         "gestures-sast-geometry2", "gestures-sast-geometry3", "gestures-sast-geometry4",
         "gestures-sast-geometry5", "gestures-sast-geometry6",
         "gestures-sast-geometry7", "gestures-sast-geometry8",
         "gestures-sast-geometry9", "gestures-sast-geometry10"]


#: how each shipped model was trained: (method, --hard-loss). nmnist-real-sast is issue 17's model: the path the
#: issue names, trained with the method that won the study (surrogate forward + a loss on the hard forward pass)
TRAINED = {"nmnist-real-baseline": ("surrogate", 0.0), "nmnist-real-sast": ("surrogate", 0.5),
           "gestures-baseline": ("surrogate", 0.0), "gestures-sast": ("sast", 0.0),
           "gestures-sast-geometry": ("sast", 0.0), "gestures-sast-geometry2": ("sast", 0.0),
           "gestures-sast-geometry3": ("sast", 0.0), "gestures-sast-geometry4": ("sast", 0.0),
           "gestures-sast-geometry5": ("sast", 0.0), "gestures-sast-geometry6": ("sast", 0.0),
           "gestures-sast-geometry7": ("sast", 0.0), "gestures-sast-geometry8": ("sast", 0.0),
           "gestures-sast-geometry9": ("sast", 0.0), "gestures-sast-geometry10": ("sast", 0.5)}


@pytest.mark.parametrize("name", NAMES)
def test_zoo_checkpoint_is_complete(name):
    model, meta = load_model(ZOO / name / "model")
    assert model_summary(model)["int8_bytes"] < 64 * 1024  # fits a 64 kB sensor memory at INT8
    report = json.loads((ZOO / name / "eval" / "report.json").read_text())
    assert set(report["accuracy"]) == {"surrogate", "hard", "transfer_gap"}
    cfg = meta["train_cfg"]
    assert (cfg["method"], cfg.get("hard_loss", 0.0)) == TRAINED[name]


@pytest.mark.parametrize("name", ["nmnist-real-baseline", "nmnist-real-sast"])
def test_nmnist_zoo_reproduces_its_report(real_dir, name):
    model, _ = load_model(ZOO / name / "model")
    report = json.loads((ZOO / name / "eval" / "report.json").read_text())
    _, test = resolve_datasets("nmnist-real", progress=False)
    cache = FrameCache(test, model.cfg)
    for mode in ("surrogate", "hard"):
        assert evaluate_accuracy(model, cache, mode, "cpu") == pytest.approx(report["accuracy"][mode])


def test_the_shipped_nmnist_model_keeps_95_percent_at_int8_on_the_real_test_digits(real_dir):
    """Issue 17's target, on the integer simulator as the sensor runs it: ≥ 95 of the 100 real test digits (the
    report's figure, recomputed). Nothing was selected on these digits (models/zoo/make_zoo.sh)."""
    import numpy as np

    from training.evaluation.hardware import evaluate_hardware

    model, _ = load_model(ZOO / "nmnist-real-sast" / "model")
    report = json.loads((ZOO / "nmnist-real-sast" / "eval" / "report.json").read_text())
    _, test = resolve_datasets("nmnist-real", progress=False)
    cache = FrameCache(test, model.cfg)
    hw, _ = evaluate_hardware(ZOO / "nmnist-real-sast" / "model", cache.windows(), np.asarray(cache.labels),
                              ["int8"])
    assert hw["int8"]["accuracy"] == pytest.approx(report["hardware"]["int8"]["accuracy"])
    assert hw["int8"]["accuracy"] >= 0.95


def test_the_default_gesture_model_is_the_one_the_validation_grid_chose():
    """The rule of models/zoo/make_zoo.sh: the highest mean accuracy over the robustness grid on the validation
    subjects (never the test grid), nominal within 0.02 of the previous default's — recomputed from the committed
    validation reports, so the default cannot change without them."""
    import numpy as np

    from sast_live.pipeline.backends import DEFAULT_MODEL

    grids = {}
    for folder in sorted(ZOO.glob("gestures-*/eval-validation")):
        report = json.loads((folder / "report.json").read_text())
        assert report["split"] == "validation" and report["geometry"]["split"] == "validation"
        grids[folder.parent.name] = [p["accuracy"] for p in report["geometry"]["points"]]
    assert {"gestures-sast", "gestures-sast-geometry", "gestures-sast-geometry2", "gestures-sast-geometry3",
            "gestures-sast-geometry4", "gestures-sast-geometry5", "gestures-sast-geometry6",
            "gestures-sast-geometry7", "gestures-sast-geometry8", "gestures-sast-geometry9",
            "gestures-sast-geometry10"} <= set(grids)
    best = max(grids, key=lambda name: np.mean(grids[name]))
    assert DEFAULT_MODEL.name == best
    # nominal (the grid's first point) within 0.02 of the default it replaced, gestures-sast-geometry9
    assert grids[best][0] >= grids["gestures-sast-geometry9"][0] - 0.02


def test_the_default_carries_its_validation_no_gesture_figures_and_they_never_saw_held_out_data():
    """models/zoo/make_zoo.sh streams the validation subjects' no-gesture recordings of all four pools through the
    default (evaluate --live --split validation): the figure a candidate that should say "no gesture" more often is
    compared with. It is a validation report: no demo (a test subject), no held-out real scene."""
    from sast_live.pipeline.backends import DEFAULT_MODEL
    from training.evaluation.no_gesture import is_held_out

    report = json.loads((DEFAULT_MODEL / "eval-validation-no-gesture" / "report.json").read_text())
    live = report["live"]
    assert report["split"] == "validation" and live["demo"] is None
    assert not any(is_held_out(k) for k in live["no_gesture"])
    assert set(live["streamed"]) == {"synth-gestures-v2", "synth-gestures-v2-seed1", "synth-gestures-v2-seed2",
                                     "synth-gestures-v3"}
    assert all(0 <= r["claims_at_80"] <= r["claims"] <= r["windows"] for r in live["streamed"].values())


def test_the_default_carries_its_fresh_validation_baseline_from_pools_it_never_trained_on():
    """The confirmation of a close win (models/zoo/make_zoo.sh, seventh session) compares a candidate with the default
    on the validation subjects of gestures-v2-seed3 and -seed4, pools no model of the chain trained on. The
    default's reports there are the baseline; the figures make_zoo.sh quotes are theirs, and neither report saw a
    test subject or a held-out real scene."""
    import re

    import numpy as np

    from sast_live.pipeline.backends import DEFAULT_MODEL
    from training.evaluation.no_gesture import is_held_out

    trained_on = json.loads((DEFAULT_MODEL / "model.json").read_text())["train_cfg"]["dataset"]
    assert "seed3" not in trained_on and "seed4" not in trained_on
    grid = json.loads((DEFAULT_MODEL / "eval-fresh-validation" / "report.json").read_text())
    assert grid["split"] == "validation" and grid["dataset"] == "gestures-v2-seed3+gestures-v2-seed4"
    mean = float(np.mean([p["accuracy"] for p in grid["geometry"]["points"]]))
    streamed = json.loads((DEFAULT_MODEL / "eval-fresh-validation-no-gesture" / "report.json").read_text())
    live = streamed["live"]
    assert streamed["split"] == "validation" and live["demo"] is None
    assert not any(is_held_out(k) for k in live["no_gesture"])
    assert set(live["streamed"]) == {"synth-gestures-v2-seed3", "synth-gestures-v2-seed4"}
    at_80 = sum(r["claims_at_80"] for r in live["streamed"].values())
    windows = sum(r["windows"] for r in live["streamed"].values())
    script = (ZOO / "make_zoo.sh").read_text()
    quoted = re.search(r"grid mean (\d\.\d{4}) of (\d+)\s*# recordings, (\d+) of (\d+) streamed no-gesture", script)
    assert quoted, "make_zoo.sh no longer quotes the default's fresh-validation baseline"
    assert float(quoted[1]) == round(mean, 4) and int(quoted[2]) == grid["n_test"]
    assert (int(quoted[3]), int(quoted[4])) == (at_80, windows)
