"""Scoring the live app on a labelled recording: majority per gesture, latency to a stable correct prediction,
'no gesture' in the pauses; and `replay --score` on the bundled demo."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from models.decision import NO_CLASS
from sast_live.pipeline.snapshot import WindowResult
from sast_live.scoring import first_stable, score_line, score_recording, score_so_far

REPO = Path(__file__).resolve().parents[1]


def win(t_end_s: float, cls: int, partial=False) -> WindowResult:
    t1 = int(t_end_s * 1e6)
    return WindowResult(t1 - 1_000_000, t1, cls, str(cls), (), 0.9, 0, 0, 40, 0, partial)


def test_majority_latency_and_pauses():
    # gesture 3 from 0 to 3 s, a pause from 3 to 5 s, gesture 1 from 5 to 8 s; a window every 250 ms
    labels = [(3, 0, 3_000_000), (1, 5_000_000, 8_000_000)]
    said = {}
    for k in range(4, 33):
        t = k / 4
        said[t] = 3 if t <= 3.5 else (NO_CLASS if t <= 5.5 else (1 if t >= 6.0 else 3))
    said[6.25] = 4  # one wrong window inside the second gesture: not yet stable at 6.0
    windows = [win(t, c) for t, c in sorted(said.items())]
    s = score_recording(windows, labels, [str(i) for i in range(11)])
    g0, g1 = s["gestures"]
    assert g0["windows"] == 9 and g0["correct"] == 9 and g0["majority"] and g0["latency_s"] == 1.0
    assert g1["windows"] == 9 and g1["correct"] == 8 and g1["latency_s"] == 1.5  # 6.5 and 6.75 in a row
    assert s["pauses"] == [{"start_us": 3_000_000, "end_us": 5_000_000, "windows": 5, "no_gesture": 5}]
    assert s["median_latency_s"] == 1.25 and s["missed"] == 0 and s["pause_no_gesture"] == 1.0
    assert first_stable(windows, 7, 0, 8_000_000) is None


def test_the_score_so_far_counts_only_the_labels_the_windows_have_covered():
    """The window's running score: a replay begun at 4 s (a seek) has covered only the second gesture once it is past
    8 s; before its end, none; partial windows never count."""
    labels = [(3, 0, 3_000_000), (1, 5_000_000, 8_000_000)]
    windows = [win(t / 4, 1 if t / 4 >= 6 else NO_CLASS) for t in range(20, 35)]  # ends 5.0 … 8.5 s, from 4.0 s
    names = [str(i) for i in range(11)]
    assert score_so_far(windows[:8], labels, names) is None  # up to 6.75 s: the second gesture not yet over
    s = score_so_far(windows, labels, names)
    assert [g["class"] for g in s["gestures"]] == [1] and s["gestures_with_majority"] == 1
    assert score_line(s).startswith("1/1 labelled gestures named by most of their windows · median latency")
    assert score_so_far([win(2.0, 3, partial=True)], labels, names) is None
    # a replay from the file's start: its first window starts at the first event, yet the first label is covered
    early = [win(t / 4, 3) for t in range(6, 14)]  # windows end 1.5 … 3.25 s, the first starting at 0.5 s
    assert score_so_far(early, labels, names) is None and score_so_far(early, labels, names, since_us=0)


@pytest.mark.slow
def test_replay_score_on_the_demo_reads_its_labels_file():
    done = subprocess.run([sys.executable, str(REPO / "main.py"), "replay", "sast_live/assets/demo_gestures.raw",
                           "--headless", "--json", "--score"], capture_output=True, text=True, cwd=REPO, timeout=300)
    assert done.returncode == 0, done.stderr
    score = json.loads(done.stdout.strip().splitlines()[-1])["score"]
    labels = (REPO / "sast_live/assets/demo_gestures_labels.csv").read_text().splitlines()[1:]
    assert score["n_gestures"] == len(labels) >= 6 and len({line.split(",")[0] for line in labels}) >= 6
    assert len(score["pauses"]) == 1 and score["pauses"][0]["windows"] >= 5  # the 3-s pause
    assert (REPO / "sast_live/assets/demo_gestures.raw").stat().st_size <= 5_000_000
    missing = subprocess.run([sys.executable, str(REPO / "main.py"), "replay", "sast_live/assets/demo_gestures.raw",
                              "--headless", "--score", "--model", "x"], capture_output=True, text=True, cwd=REPO,
                             timeout=300)
    assert missing.returncode == 2 and "no model at x" in missing.stderr


def test_the_streaming_choice_meets_the_latency_first_then_keeps_the_most_gestures():
    from training.data.validation import split_validation  # noqa: F401 - the subjects it holds out are these
    from training.decision.streaming import VALIDATION_SUBJECTS, choose, script

    def row(lat, maj, pause):
        return {"median_latency_s": lat, "gestures_with_majority": maj, "pause_no_gesture": pause}

    table = {"1000 ms, flat": row(1.0, 33, 1.0), "500 ms, flat": row(0.5, 30, 1.0),
             "1000 ms, linear": row(0.5, 31, 0.9), "750 ms, linear": row(0.5, 31, 1.0)}
    assert choose(table) == "750 ms, linear"
    assert choose({"a": row(0.9, 5, 1.0), "b": row(0.75, 1, 0.0)}) == "b"  # nothing fast enough: the fastest
    for k in range(len(VALIDATION_SUBJECTS)):
        s = script(k)
        assert sorted(c for c, _, _ in s if c != 11) == list(range(11)) and s[5][0] == 11


def test_the_streaming_floor_lets_98_percent_of_the_right_windows_through_and_is_stored(tmp_path):
    import json
    from types import SimpleNamespace

    import numpy as np

    from training.decision.streaming import store, stream_floor

    def win(t, cls, conf):
        return SimpleNamespace(t_start_us=t, t_end_us=t + 500_000, class_index=cls, confidence=conf)

    confs = np.linspace(0.5, 1.0, 100)
    wins = [win(1_000_000, 3, c) for c in confs] + [win(1_000_000, 4, 0.1), win(9_000_000, 3, 0.01)]
    floor = stream_floor([(wins, [(3, 1_000_000, 2_000_000)])])  # the wrong class and the window outside: ignored
    assert floor == round(float(np.quantile(confs, 0.02)), 4) and 0.5 < floor < 0.52
    assert stream_floor([([], [(3, 0, 1)])]) == 0.0
    meta = tmp_path / "model.json"
    meta.write_text(json.dumps({"decision": {"temperature": 0.5, "min_confidence": 0.9, "fitted_on": "val"}}))
    for _ in range(2):  # a rerun keeps the clipped-window floor it first moved aside
        store(meta, 500, "linear", floor)
    d = json.loads(meta.read_text())
    assert d["clip_min_confidence"] == 0.9 and d["decision"]["min_confidence"] == floor
    assert d["decision"]["window_ms"] == 500 and d["decision"]["fitted_on"].startswith("val; floor: streaming")


def test_the_streaming_unfamiliar_limits_come_from_the_validation_windows_and_are_stored(tmp_path):
    import json
    from types import SimpleNamespace

    import numpy as np

    from models.decision import Decision
    from training.decision.streaming import store, stream_energy_limit, stream_rate_range

    def win(t, energy, events, partial=False):
        return SimpleNamespace(t_start_us=t, t_end_us=t + 500_000, energy=energy, events=events, partial=partial)

    e = np.linspace(-10.0, -5.0, 200)
    wins = [win(1_000_000, v, 1000 + i) for i, v in enumerate(e)] + [win(9_000_000, 50.0, 10**6),
                                                                       win(1_000_000, 99.0, 5, partial=True)]
    runs = [(wins, [(3, 1_000_000, 2_000_000)])]
    assert stream_energy_limit(runs) == round(float(np.quantile(e, 0.99)), 6)  # inside gestures, full windows
    lo, hi = stream_rate_range(runs)  # every full window, pauses included
    rates = [2 * (1000 + i) for i in range(200)] + [2 * 10**6]  # events per second of the full windows
    assert (lo, hi) == (round(float(np.quantile(rates, 0.001)) / 2, 3), round(float(np.quantile(rates, 0.999)) * 2, 3))
    assert stream_energy_limit([([], [])]) is None and stream_rate_range([([], [])]) is None
    meta = tmp_path / "model.json"
    meta.write_text(json.dumps({"decision": {"temperature": 0.5, "min_confidence": 0.9, "max_energy": -3.0}}))
    store(meta, 500, "flat", 0.5, -6.0, (lo, hi))
    d = json.loads(meta.read_text())
    assert d["clip_max_energy"] == -3.0 and d["decision"]["max_energy"] == -6.0
    assert Decision.from_dict(d["decision"], "abc").event_rate == (lo, hi)
