"""The study's overview figure: one panel per sweep.json, and a clear error for a file that is not one."""

import json

import pytest

from main import main
from training.studies.overview import load
from training.studies.sweep import summarize


def sweep_json(path, hards):
    rows = [{"run": name, "method": "surrogate", "rho": 0.0, "epochs": 1, "seed": seed, "surrogate": 0.9, "hard": h,
             "gap": 0.9 - h}
            for name, per_seed in hards.items() for seed, h in enumerate(per_seed)]
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps({"runs": rows, "summary": summarize(rows)}))
    return path


def test_overview_draws_one_panel_per_sweep(tmp_path):
    a = sweep_json(tmp_path / "beta3" / "sweep.json", {"baseline": [0.6, 0.8, 0.7], "sast rho=0.3": [0.2, 0.3, 0.25],
                                                     "surrogate + hard loss": [0.9, 0.91, 0.9]})
    b = sweep_json(tmp_path / "beta2" / "sweep.json", {"baseline": [0.3, 0.2], "conventional SG": [0.9, 0.9]})
    title, summary, runs = load(a)
    assert title == "beta3" and [e["run"] for e in summary][0] == "baseline" and len(runs) == 9
    assert abs(summary[1]["paired"]["hard"]["mean"] - (0.25 - 0.7)) < 1e-12
    out = tmp_path / "overview.png"
    assert main(["overview", str(a), str(b), "--out", str(out)]) == 0
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and out.stat().st_size > 10_000


def test_overview_names_a_file_that_is_not_a_sweep(tmp_path, capsys):
    bad = tmp_path / "sweep.json"
    bad.write_text('{"runs": []}')
    assert main(["overview", str(bad), "--out", str(tmp_path / "o.png")]) == 2
    assert str(bad) in capsys.readouterr().err and not (tmp_path / "o.png").exists()
    with pytest.raises(SystemExit):
        main(["overview", "--out", str(tmp_path / "o.png")])  # no sweep given: argparse's usage error
