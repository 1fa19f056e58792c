"""main.py: subcommands run end to end; bad input gives one clear line and exit code 2."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from sast_live.formats.registry import read_events
from sast_live.pipeline.backends import DEFAULT_MODEL
from sast_live.sources import DEMO
from tests.conftest import main_in_process

REPO = __import__("pathlib").Path(__file__).resolve().parents[1]


def run(*args):
    return subprocess.run([sys.executable, str(REPO / "main.py"), *map(str, args)], capture_output=True, text=True,
                          timeout=300, cwd=REPO)


def test_help_lists_every_command():
    r = run("--help")
    assert r.returncode == 0
    for name in ("info", "convert", "data", "train", "evaluate", "sweep", "export", "gui", "replay", "live",
                 "record", "emulate-camera", "scenes"):
        assert name in r.stdout


def test_info_json(real_dir):
    r = run("info", real_dir / "expelliarmus" / "evt3_test_pedestrians.raw", "--json")
    assert r.returncode == 0, r.stderr
    info = json.loads(r.stdout)
    assert info["format"] == "EVT3" and info["events"] == 5000 and (info["width"], info["height"]) == (1280, 720)
    assert info["duration_us"] == info["t_last"] - info["t_first"] and info["on"] + info["off"] == 5000


@pytest.mark.slow
def test_convert_chain_is_lossless(real_dir, tmp_path):
    src = real_dir / "tonic" / "sample_ncars.dat"
    r = run("convert", src, tmp_path / "a.raw")
    assert r.returncode == 2 and "--sensor-size" in r.stderr  # DAT without geometry: says what to do
    assert run("convert", src, tmp_path / "a.raw", "--sensor-size", "304x240").returncode == 0
    assert run("convert", tmp_path / "a.raw", tmp_path / "b.raw", "--format", "evt2").returncode == 0
    assert run("convert", tmp_path / "b.raw", tmp_path / "c.dat").returncode == 0
    assert run("convert", tmp_path / "c.dat", tmp_path / "d.npy").returncode == 0
    assert np.array_equal(read_events(tmp_path / "d.npy"), read_events(src))


@pytest.mark.slow
def test_bad_input_is_one_clear_line(tmp_path):
    bad = tmp_path / "broken.raw"
    bad.write_bytes(b"% evt 3.0\n% end\n" + b"\x01\x80\x00\x20\x00\x90")
    r = run("info", bad)
    assert r.returncode == 2 and "broken.raw at byte" in r.stderr and "Traceback" not in r.stderr
    r = run("info", tmp_path / "missing.dat")
    assert r.returncode == 2 and "no such file" in r.stderr
    r = run("convert", bad, tmp_path / "x.xyz")
    assert r.returncode == 2 and "--format" in r.stderr


def test_paths_that_cannot_be_written_and_impossible_numbers_are_one_line_and_exit_2(tmp_path, capsys):
    a_file = tmp_path / "a-file"
    a_file.write_text("not a folder")
    for args, says in [(("record", "synthetic:people:hand_clap", a_file / "out.raw", "--seconds", "0.3", "--speed",
                         "0", "--quiet"), f"{a_file}/out.raw"),
                       (("convert", DEMO, a_file / "x.npy"), f"{a_file}/x.npy"),
                       (("record", "synthetic:people:hand_clap", "--label", "a", "--dataset", a_file, "--speed", "0",
                         "--quiet"), str(a_file))]:
        r = main_in_process(capsys, *args, ok=False)
        assert r.returncode == 2 and says in r.stderr and "Not a directory" in r.stderr, r.stderr
        assert "Traceback" not in r.stderr and len(r.stderr.strip().splitlines()) == 1
    assert a_file.read_text() == "not a folder"  # nothing written over it
    for args, says in [(("record", "synthetic:people:hand_clap", tmp_path / "x.raw", "--seconds", "inf"),
                        "--seconds: must be above 0, not inf"),
                       (("record", "synthetic:people:hand_clap", tmp_path / "x.raw", "--seconds", "-1"),
                        "--seconds: must be above 0, not -1"),
                       (("record", "synthetic:people:hand_clap", "--label", "a", "--dataset", tmp_path / "d", "--gap",
                         "nan"), "--gap: must be at least 0, not nan"),
                       (("record", "synthetic:people:hand_clap", "--label", "a", "--dataset", tmp_path / "d", "--takes",
                         "0"), "--takes: must be at least 1, not 0"),
                       (("replay", DEMO, "--headless", "--hop-ms", "x"), "--hop-ms: 'x' is not an integer"),
                       (("train", "--dataset", "gestures-v2", "--lr", "nan", "--out", tmp_path / "r"),
                        "--lr must be a finite number, not nan"),
                       (("train", "--dataset", "nmnist-real", "--outlier-weight", "1", "--out", tmp_path / "r"),
                        "--outlier-weight weighs the loss of --outliers; add --outliers DATASET"),
                       (("train", "--dataset", "nmnist-real", "--outliers", "nmnist-real:7", "--outlier-weight", "0",
                         "--out", tmp_path / "r"), "--outlier-weight must be > 0, got 0.0"),
                       (("train", "--dataset", "nmnist-real", "--outliers", "nosuch", "--out", tmp_path / "r",
                         "--quiet"), "--outliers must be nmnist, nmnist-real"),
                       (("train", "--dataset", "nmnist-real", "--method", "cvx", "--outliers", "nmnist-real:7",
                         "--out", tmp_path / "r"), "--outliers: options of the gradient methods"),
                       (("train", "--dataset", "nmnist-real", "--method", "cvx", "--channels", "8", "16", "--epochs",
                         "3", "--hard-loss", "0.5", "--out", tmp_path / "r"),
                        "--epochs, --channels, --hard-loss: options of the gradient methods (sast, surrogate, sg); "
                        "--method cvx reconstructs a network of its own"),
                       (("train", "--dataset", "nmnist-real", "--method", "sg-cvx", "--witness-from",
                         DEFAULT_MODEL / "model", "--init-from", DEFAULT_MODEL / "model", "--out", tmp_path / "r"),
                        "--init-from: options of the gradient methods"),
                       (("train", "--dataset", "gestures-v2", "--init-from", DEFAULT_MODEL / "model", "--in-size", "48",
                         "--out", tmp_path / "r"), "--in-size 48: the gesture-snn network's input can be 32, 64, 128"),
                       (("train", "--dataset", "gestures-v2", "--in-size", "-4", "--out", tmp_path / "r"),
                        "--in-size must be a positive number of pixels, got -4"),
                       (("train", "--dataset", "nmnist-real", "--method", "cvx", "--in-size", "34", "--out",
                         tmp_path / "r"), "--in-size: options of the gradient methods"),
                       (("train", "--dataset", "xor", "--in-size", "64", "--out", tmp_path / "r"),
                        "--in-size change event windows; the sequence task 'xor' has none")]:
        r = main_in_process(capsys, *args, ok=False)
        assert r.returncode == 2 and says in r.stderr, (args, r.stderr)
    assert not (tmp_path / "x.raw").exists() and not (tmp_path / "d").exists() and not (tmp_path / "r").exists()


def test_teaching_refuses_a_finer_input_it_would_ignore(tmp_path, capsys, push_takes):
    """Teaching refits the readout on the model's own hidden layers: --in-size (a new first layer) is one line."""
    r = main_in_process(capsys, "train", "--init-from", DEFAULT_MODEL / "model", "--dataset", push_takes, "--in-size",
                        "64", "--out", tmp_path / "r", ok=False)
    assert r.returncode == 2 and "--in-size: options of a full fine-tuning" in r.stderr, r.stderr
    assert not (tmp_path / "r").exists()


def test_evaluate_refuses_takes_it_cannot_score_in_one_line(tmp_path, capsys, real_dir):
    from sast_live.pipeline.backends import DEFAULT_MODEL
    from tests.conftest import main_in_process

    takes = tmp_path / "takes"  # 34x34 takes (an N-MNIST digit) under a gesture class of the 128x128 model
    rec = ("record", real_dir / "tonic" / "sample_nmnist.bin", "--label", "hand_clap", "--dataset", takes,
           "--seconds", "0.1", "--gap", "0", "--speed", "0", "--quiet")
    main_in_process(capsys, *rec, "--takes", "3")
    ev = ("evaluate", DEFAULT_MODEL / "model", "--dataset", takes, "--no-corruptions", "--out", tmp_path / "e",
          "--quiet")
    r = main_in_process(capsys, *ev, ok=False)
    assert r.returncode == 2 and "no test recordings to evaluate on" in r.stderr and "Traceback" not in r.stderr
    main_in_process(capsys, *rec, "--takes", "1")  # the 4th take: held out
    r = main_in_process(capsys, *ev, ok=False)
    assert r.returncode == 2 and "holds 34x34 recordings" in r.stderr and "reads a 128x128 sensor" in r.stderr


def test_a_score_with_most_gestures_missed_is_valid_json():
    from sast_live.scoring import latency_text, median_latency

    assert median_latency([0.5, None, 1.0]) == 1.0 and median_latency([]) is None
    assert median_latency([0.5, None]) is None and median_latency([None, None, 0.2]) is None  # no finite median
    assert latency_text(None) == "none (half or more missed)" and latency_text(0.5) == "0.50 s"
    json.loads(json.dumps({"median_latency_s": median_latency([None])}, allow_nan=False))


@pytest.mark.slow
def test_data_synth_cli(tmp_path, tiny_gestures_v2, capsys):
    def run(*args):  # in-process: an interpreter's start-up is seconds on 2 cores
        return main_in_process(capsys, *args, ok=False)

    r = run("data", "synth", "--dataset", "nmnist", "--out", tmp_path / "n", "--n-per-class", "1",
            "--split", "test", "--workers", "2", "--quiet")
    assert r.returncode == 0, r.stderr
    meta = json.loads((tmp_path / "n" / "meta.json").read_text())
    assert len(meta["classes"]) == 10 and meta["splits"] == {"test": 10}
    # the shared tiny gestures-v2 set was made by the same function in two runs (tests/test_people.py checks it);
    # evaluation reads only the test split
    meta = json.loads((tiny_gestures_v2 / "meta.json").read_text())
    assert len(meta["classes"]) == 12 and meta["splits"]["test"] == 12
    r = run("evaluate", REPO / "models" / "zoo" / "gestures-sast" / "model", "--dataset", tiny_gestures_v2,
            "--no-corruptions", "--out", tmp_path / "ev", "--quiet")
    assert r.returncode == 0, r.stderr
    report = json.loads((tmp_path / "ev" / "report.json").read_text())
    # one recording of each class by the test subjects, the data the shipped model was made for (0.92 on its
    # test split): far above the 1/12 of guessing, so the right split and labels were read
    assert report["n_test"] == 12 and report["accuracy"]["hard"] >= 8 / 12


@pytest.mark.slow
def test_train_cli_tiny(tmp_path, real_dir):
    r = run("train", "--dataset", "nmnist-real", "--method", "sast", "--epochs", "1", "--limit-train", "32",
            "--limit-test", "16", "--n-bins", "5", "--batch-size", "16", "--out", tmp_path / "t", "--quiet")
    assert r.returncode == 0, r.stderr
    final = json.loads(r.stdout.strip().splitlines()[-1])
    assert final["epoch"] == 1 and final["gradient_passes"] == 4
    assert (tmp_path / "t" / "model.safetensors").is_file() and (tmp_path / "t" / "model.json").is_file()
    r = run("train", "--dataset", "no-such-thing", "--out", tmp_path / "u", "--quiet")
    assert r.returncode == 2 and "--dataset" in r.stderr


@pytest.mark.slow
def test_sweep_cli_tiny_over_two_seeds(tmp_path, real_dir, capsys):
    # in-process: four interpreter start-ups were a third of its time
    def run(*args):
        return main_in_process(capsys, *args, ok=False)

    r = run("sweep", "--dataset", "nmnist-real", "--rho", "0", "0.2", "--epochs", "1", "--limit-train", "32",
            "--limit-test", "16", "--n-bins", "4", "--batch-size", "16", "--seeds", "2", "--hardware", "int8",
            "--out", tmp_path / "s", "--quiet")
    assert r.returncode == 0, r.stderr
    result = json.loads((tmp_path / "s" / "sweep.json").read_text())
    runs, summary = result["runs"], result["summary"]
    assert [(row["run"], row["seed"]) for row in runs] == [
        ("baseline", 0), ("baseline", 1), ("baseline 2x epochs (compute-matched)", 0),
        ("baseline 2x epochs (compute-matched)", 1), ("sast rho=0.2", 0), ("sast rho=0.2", 1)]
    assert runs[2]["epochs"] == 2 and runs[4]["gradient_passes"] == runs[2]["gradient_passes"]  # SAST's budget
    assert all(0 <= row["int8"] <= 1 and row["n_test"] == 16 and row["synops"] > 0 for row in runs)
    assert runs[0]["hard"] != runs[1]["hard"] or runs[0]["surrogate"] != runs[1]["surrogate"]  # seeds differ
    sast = summary[2]
    assert sast["run"] == "sast rho=0.2" and sast["hard"]["n"] == 2 and sast["hard"]["ci95"] >= 0
    diffs = [runs[4]["hard"] - runs[0]["hard"], runs[5]["hard"] - runs[1]["hard"]]
    assert np.isclose(sast["paired"]["hard"]["mean"], np.mean(diffs))
    assert summary[0]["time_ratio"] == 1.0 and "paired" not in summary[0]
    assert (tmp_path / "s" / "sweep.png").stat().st_size > 1000
    md = (tmp_path / "s" / "sweep.md").read_text()
    assert "| sast rho=0.2 |" in md and "Paired with the baseline" in md and md in r.stdout
    again = run("sweep", "--dataset", "nmnist-real", "--rho", "0", "0.2", "--epochs", "1", "--limit-train", "32",
                "--limit-test", "16", "--n-bins", "4", "--batch-size", "16", "--seeds", "2", "--hardware", "int8",
                "--out", tmp_path / "s", "--quiet")  # every run is there already: nothing is trained again
    assert again.returncode == 0 and json.loads((tmp_path / "s" / "sweep.json").read_text())["runs"] == runs
    so_far = run("sweep", "--dataset", "nmnist-real", "--rho", "0", "0.2", "0.5", "--epochs", "1", "--limit-train",
                 "32", "--limit-test", "16", "--n-bins", "4", "--batch-size", "16", "--seeds", "2", "--out",
                 tmp_path / "s", "--report-only", "--quiet")  # rho 0.5 not run yet: reported without it
    assert so_far.returncode == 0 and json.loads((tmp_path / "s" / "sweep.json").read_text())["runs"] == runs
    assert not (tmp_path / "s" / "sast_rho0.5").exists()
    extra = run("sweep", "--dataset", "nmnist-real", "--rho", "0", "0.2", "--epochs", "1", "--limit-train", "32",
                "--limit-test", "16", "--n-bins", "4", "--batch-size", "16", "--seeds", "2", "--out", tmp_path / "s",
                "--report-only", "--extra-test", "nmnist-real", "--quiet")  # a second test set, added afterwards
    assert extra.returncode == 0, extra.stderr
    later = json.loads((tmp_path / "s" / "sweep.json").read_text())
    for before, after in zip(runs, later["runs"], strict=True):  # evaluated on the 100 real digits, not trained again
        assert after["extra_n_test"] == 100 and 0 <= after["extra_int8"] <= 1
        assert {k: v for k, v in after.items() if not k.startswith("extra_")} == before
    assert "extra_hard" in later["summary"][2]["paired"] and "second test set (`nmnist-real`" in extra.stdout


def test_sweep_intervals_are_t_intervals_of_the_mean():
    from training.metrics import interval
    from training.studies.sweep import summarize

    s = interval([0.5, 0.7, 0.6])
    assert np.isclose(s["mean"], 0.6) and np.isclose(s["std"], 0.1)
    assert np.isclose(s["ci95"], 4.302653 * 0.1 / np.sqrt(3), atol=1e-6)  # t(0.975, 2) = 4.3027
    assert interval([0.4])["ci95"] is None
    rows = [{"run": "baseline", "method": "surrogate", "rho": 0, "epochs": 1, "seed": k, "hard": h}
            for k, h in enumerate([0.5, 0.6])]
    rows += [{"run": "sast rho=0.1", "method": "sast", "rho": 0.1, "epochs": 1, "seed": k, "hard": h}
             for k, h in enumerate([0.7, 0.6])]
    paired = summarize(rows)[1]["paired"]["hard"]
    assert np.isclose(paired["mean"], 0.1) and np.isclose(paired["std"], np.std([0.2, 0.0], ddof=1))


@pytest.mark.slow
def test_evaluate_never_overwrites_the_shipped_reports_by_default(tmp_path, real_dir):
    shipped = REPO / "models" / "zoo" / "nmnist-real-sast" / "eval" / "report.json"
    before = shipped.read_bytes()
    r = subprocess.run([sys.executable, str(REPO / "main.py"), "evaluate", str(shipped.parents[1] / "model"),
                        "--no-corruptions", "--limit-test", "5", "--quiet"], capture_output=True, text=True,
                       timeout=300, cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["report_dir"] == "runs/eval/nmnist-real-sast"
    assert (tmp_path / "runs" / "eval" / "nmnist-real-sast" / "report.json").is_file()
    assert shipped.read_bytes() == before


@pytest.mark.slow
def test_export_cli(tmp_path):
    from firmware_sim.model_file import load_firmware

    ckpt = REPO / "models" / "zoo" / "gestures-sast" / "model"
    r = run("export", ckpt, "--precision", "int4", "--out", tmp_path / "fw", "--c", "--json")
    assert r.returncode == 0, r.stderr
    summary = json.loads(r.stdout)
    assert summary["precision"] == "int4" and summary["weight_bits"] == 4 and summary["leak"]["param"] == 205
    # the gesture net: 16-32-64 channels, 12 classes, and its 12 readout biases as int32
    assert summary["memory"]["weight_bytes"] == (35_616 * 4 + 7) // 8 + 12 * 4
    assert load_firmware(tmp_path / "fw").weight_bits == 4
    assert (tmp_path / "fw" / "sast_model.c").stat().st_size > 10_000
    # how to build the C driver: without libm for a model without a no-gesture gate, with it for the default's
    assert summary["build"].endswith("-o sast_demo") and "-lm" not in summary["build"]
    gated = run("export", REPO / "models" / "zoo" / "gestures-sast-geometry10" / "model", "--out", tmp_path / "gated",
                "--c")
    assert gated.returncode == 0 and gated.stdout.strip().splitlines()[-1] == \
        f"build the C driver: cd {tmp_path / 'gated'} && gcc -std=c99 -O2 sast_model.c sast_demo.c -o sast_demo -lm"
    r = run("export", ckpt, "--out", tmp_path / "bad", "--membrane-bits", "8")
    assert r.returncode == 2 and "exceeds the 8-bit membrane" in r.stderr
    r = run("export", tmp_path / "fw" / "firmware", "--out", tmp_path / "bad2")
    assert r.returncode == 2 and r.stderr.startswith("error:")


@pytest.mark.slow
def test_export_precision_is_a_row_of_the_table_and_loads_back_as_itself(tmp_path):
    """``--precision wide`` is the table's wide row (16-bit weights, 32-bit membranes, leak m/2^24), not merely
    16-bit weights; an override makes the model 'custom', which runs as itself and as nothing else."""
    from firmware_sim.precisions import PRECISIONS
    from sast_live.pipeline import load_backend

    ckpt = REPO / "models" / "zoo" / "gestures-sast" / "model"
    assert run("export", ckpt, "--precision", "wide", "--out", tmp_path / "wide").returncode == 0
    wide = json.loads((tmp_path / "wide" / "firmware.json").read_text())
    assert (wide["precision"], wide["weight_bits"], wide["membrane_bits"], wide["leak"]["shift"]) == \
        ("wide", 16, 32, 24)
    assert load_backend(tmp_path / "wide").precision == PRECISIONS["wide"]
    assert run("export", ckpt, "--bits", "16", "--out", tmp_path / "w16").returncode == 2  # 16 bits alone is no row
    assert run("export", ckpt, "--bits", "4", "--out", tmp_path / "b4", "--json").returncode == 0
    assert json.loads((tmp_path / "b4" / "firmware.json").read_text())["precision"] == "int4"
    r = run("export", ckpt, "--precision", "int8", "--membrane-bits", "24", "--out", tmp_path / "custom", "--json")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["precision"] == "custom"
    backend = load_backend(tmp_path / "custom")
    assert backend.precision.name == "custom" and backend.precision.membrane_bits == 24
    r = run("replay", DEMO, "--headless", "--json", "--speed", "0", "--seconds", "2", "--model", tmp_path / "custom",
            "--precision", "int8")
    assert r.returncode == 2 and "exported custom firmware model; it can only run as custom" in r.stderr
    r = run("replay", DEMO, "--headless", "--json", "--speed", "0", "--seconds", "2", "--model", tmp_path / "custom")
    assert r.returncode == 0 and json.loads(r.stdout.splitlines()[0])["class"] >= -1


@pytest.mark.slow
def test_evaluate_hardware_cli(tmp_path, real_dir):
    zoo = REPO / "models" / "zoo"
    r = run("evaluate", zoo / "nmnist-real-baseline" / "model", "--limit-test", "12", "--no-corruptions",
            "--hardware", "int8", "int4", "--out", tmp_path / "ev", "--table", tmp_path / "table.md", "--quiet")
    assert r.returncode == 0, r.stderr
    report = json.loads((tmp_path / "ev" / "report.json").read_text())
    assert set(report["hardware"]) == {"int8", "int4"}
    assert report["hardware"]["int4"]["memory"]["weight_bytes"] == (29_976 * 4 + 7) // 8
    assert "On-sensor simulation" in (tmp_path / "ev" / "report.md").read_text()
    assert "int4 hard" in (tmp_path / "table.md").read_text()
    r = run("evaluate", zoo / "nmnist-real-baseline" / "model", "--hardware", "int3", "--out", tmp_path / "x")
    assert r.returncode == 2 and "unknown precision 'int3'" in r.stderr


def test_sweep_configurations_name_every_control_and_variant():
    from sast_live.errors import SastLiveError
    from training.config import TrainConfig
    from training.studies.sweep import configurations

    runs = configurations(TrainConfig(epochs=3), [0, 0.1], ("sast", "sast-2batch", "sast-dual"), sg=True)
    names = [n for n, _ in runs]
    assert names == ["baseline", "baseline 2x epochs (compute-matched)", "conventional SG", "sast rho=0.1",
                     "sast-2batch rho=0.1", "surrogate + hard loss", "sast-dual rho=0.1"]
    cfg = dict(runs)
    assert cfg["baseline 2x epochs (compute-matched)"].epochs == 6 and cfg["conventional SG"].method == "sg"
    assert cfg["sast-2batch rho=0.1"].second_batch and cfg["sast-dual rho=0.1"].hard_loss == 0.5
    assert cfg["surrogate + hard loss"].method == "surrogate" and cfg["surrogate + hard loss"].rho == 0
    with pytest.raises(SastLiveError, match="unknown SAST variant"):
        configurations(TrainConfig(), [0.1], ("sam-ultra",))
    from training.studies.sweep import folder_name

    assert [folder_name(n) for n in names] == ["baseline", "baseline_2x_epochs", "conventional_SG", "sast_rho0.1",
                                               "sast-2batch_rho0.1", "surrogate_hard_loss", "sast-dual_rho0.1"]


def test_sweep_evaluates_finished_runs_on_a_second_test_set_once(tmp_path, monkeypatch):
    import training.studies.sweep as sweep
    from training.config import TrainConfig

    base = TrainConfig(dataset="nmnist-real", epochs=1, out=str(tmp_path), progress=False)
    for seed in (0, 1):  # two finished baseline runs, evaluated on a second test set "a"
        run = tmp_path / "baseline" / f"seed{seed}"
        run.mkdir(parents=True)
        (run / "result.json").write_text(json.dumps({
            "run": "baseline", "method": "surrogate", "rho": 0.0, "seed": seed, "epochs": 1, "surrogate": 0.5,
            "hard": 0.4 + seed / 10, "gap": 0.1, "n_test": 16, "synops": 1.0, "epoch_seconds": 1.0,
            "checkpoint": str(run / "model"), "extra_hard": 0.3, "extra_int8": 0.3, "extra_n_test": 8,
            "extra_test": "a"}))
    calls = []

    def fake(checkpoint, cfg, extra_test):
        calls.append((checkpoint, cfg.seed, extra_test))
        return {"extra_hard": 0.9, "extra_int8": 0.8, "extra_n_test": 20, "extra_test": extra_test}

    monkeypatch.setattr(sweep, "evaluate_extra", fake)
    sweep.run_sweep(base, [0.0], str(tmp_path), compute_matched=False, seeds=2, hardware=(), extra_test="a",
                    report_only=True)
    assert calls == []  # already evaluated on "a": nothing to do
    result = sweep.run_sweep(base, [0.0], str(tmp_path), compute_matched=False, seeds=2, hardware=(),
                             extra_test="b", report_only=True)
    assert [c[1:] for c in calls] == [(0, "b"), (1, "b")]  # another set: evaluated, not trained
    assert [r["extra_test"] for r in result["runs"]] == ["b", "b"] and result["runs"][0]["extra_hard"] == 0.9
    assert json.loads((tmp_path / "baseline" / "seed1" / "result.json").read_text())["extra_n_test"] == 20
    assert "second test set (`b`" in (tmp_path / "sweep.md").read_text()
