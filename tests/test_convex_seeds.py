"""`sweep --convex --seeds N`: the comparison of the convex methods over several seeds, as mean, std and 95 %
interval per method and split, a table and a PNG."""

from __future__ import annotations

import json
import shutil

import pytest


def _row(method, acc, **extra):
    return {"method": method, "test": {"accuracy": acc, "sequence_accuracy": acc / 2},
            "test_2x": {"accuracy": acc - 0.1, "sequence_accuracy": 0.0}, **extra}


def test_the_seeds_table_gives_each_methods_mean_std_and_interval(tmp_path):
    from training.convex.compare import HYBRID, plot_seeds, render_seeds, summarize_seeds

    per_seed = [[_row("CVX", a), _row(HYBRID, a + 0.01, kept_epoch=k, epochs=5)]
                for a, k in [(0.80, 0), (0.84, 2), (0.88, 1)]]
    summary = summarize_seeds(per_seed)
    cvx = summary[0]["test"]["accuracy"]
    assert cvx["n"] == 3 and cvx["mean"] == pytest.approx(0.84) and cvx["std"] == pytest.approx(0.04)
    assert cvx["ci95"] == pytest.approx(4.302653 * 0.04 / 3 ** 0.5, rel=1e-5)  # t(0.975, 2 dof)
    assert summary[1]["kept_epochs"] == [0, 2, 1] and summary[0]["test_2x"]["accuracy"]["mean"] == pytest.approx(0.74)
    table = render_seeds(summary, "t")
    assert "| CVX | 0.840 ± 0.040 (±0.099) | 0.740 ± 0.040 (±0.099) | 0.420 ± 0.020 (±0.050) |" in table
    assert f"{HYBRID} (epochs kept of 5: 0, 2, 1)" in table
    plot_seeds(summary, tmp_path / "t.png", "t")
    assert (tmp_path / "t.png").stat().st_size > 1000


def test_an_autoregressive_tasks_tables_show_the_teacher_forced_accuracy_beside_it():
    from training.convex.compare import render_seeds, render_sequence, summarize_seeds

    def row(acc):
        r = _row("CVX", acc, kept=3, features=8, rel_gap=1e-3, seconds=2.0)
        for split in ("test", "test_2x"):
            r[split]["teacher_forced_accuracy"] = r[split]["accuracy"] + 0.05
        return r

    table = render_sequence([row(0.8)], "t")
    assert "| method | test acc, autoregressive | 2x length acc, autoregressive | test acc, teacher-forced | " \
           "2x length acc, teacher-forced |" in table
    assert "| CVX | 0.800 | 0.700 | 0.850 | 0.750 | 0.400 | 0.000 | 3/8 |" in table
    seeds = render_seeds(summarize_seeds([[row(0.8)], [row(0.84)]]), "t")
    assert "| method | test acc, autoregressive | 2x length acc, autoregressive | test acc, teacher-forced |" in seeds
    assert "| CVX | 0.820 ± 0.028 (±0.254) | 0.720 ± 0.028 (±0.254) | 0.870 ± 0.028 (±0.254) |" in seeds
    assert "teacher-forced" not in render_sequence([_row("CVX", 0.8)], "t")


@pytest.mark.slow
def test_sweep_convex_over_seeds_and_what_it_refuses(tmp_path, capsys):
    from tests.conftest import main_in_process

    common = ["sweep", "--convex", "--dataset", "xor", "--length", "4", "--branches", "16", "--n-train", "100",
              "--n-test", "50", "--epochs", "1", "--max-iter", "30", "--quiet"]
    r = main_in_process(capsys, *common, "--seeds", "2", "--out", tmp_path / "s")
    assert "seeds 0–1" in r.stdout and "| SG-CVX |" in r.stdout
    assert {p.name for p in (tmp_path / "s").iterdir()} == {"seed-0", "seed-1", "table.md", "table.json", "table.png"}
    one = json.loads((tmp_path / "s" / "seed-1" / "table.json").read_text())
    assert [r["method"] for r in one] == ["CVX", "SG", "SG-CVX", "SG fine-tuned from CVX"]
    assert one[-1]["kept_epoch"] in (0, 1)  # the hybrid's start (epoch 0) is a candidate
    # an interrupted sweep goes on: a finished seed with the same settings is read back, a changed setting re-runs
    (tmp_path / "s" / "seed-1" / "settings.json").unlink()  # seed 1 as if cut short before it finished
    r = main_in_process(capsys, *common, "--seeds", "2", "--out", tmp_path / "s", ok=False)
    assert r.returncode == 2 and "seed-1 holds a seed 1 run that did not finish; delete that folder" in r.stderr
    shutil.rmtree(tmp_path / "s" / "seed-1")
    r = main_in_process(capsys, *common, "--seeds", "2", "--out", tmp_path / "s")
    assert "seed 0: finished before" in r.stdout and "seed 1: finished before" not in r.stdout
    assert (tmp_path / "s" / "seed-1" / "settings.json").exists()
    r = main_in_process(capsys, *[a if a != "30" else "31" for a in common], "--seeds", "2", "--out", tmp_path / "s",
                        ok=False)
    assert r.returncode == 2 and "seed-0 holds a seed 0 run with other settings (max_iter)" in r.stderr
    r = main_in_process(capsys, "sweep", "--convex", "--dataset", "nmnist-real", "--seeds", "2", "--out",
                        tmp_path / "e", ok=False)
    assert r.returncode == 2 and "runs the sequence tasks" in r.stderr and not (tmp_path / "e").exists()
