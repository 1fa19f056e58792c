"""The scenes with no gesture that the live check runs: the real recordings fill every window (looped, never
padded with silence), larger sensors are also seen as a full-resolution centre crop, and the summary over the
real scenes counts each of them."""

from __future__ import annotations

import numpy as np
import pytest

from training.evaluation.no_gesture import DIGITS, FLOOR_HZ, REAL, SECONDS, is_held_out, real_scenes_summary, scenes


@pytest.mark.slow
def test_every_quarter_second_of_a_real_scene_holds_the_scene(real_dir):
    made = scenes(real_dir)
    real = [k for k in made if any(k.startswith(f"{n},") for n in REAL) or k.startswith(DIGITS)]
    assert not [k for k in made if "once" in k]  # no clip placed once into silence
    assert len(real) == 11 and all("looped" in k for k in real)
    held_out = [k for k in real if is_held_out(k)]
    assert len(held_out) == 8 and not any("training side" in k for k in held_out)
    assert {k for k in held_out if "centre crop" in k} == {
        f"{n}, centre crop, looped" for n in ("pedestrians (EVT3)", "person, head and shoulders (DVXplorer)")}
    floor = FLOOR_HZ * 128 * 128 * 0.25  # the floor noise expected in a quarter second
    for name in real:
        ev = made[name]
        assert ev["t"][-1] < SECONDS * 1e6 and np.all(np.diff(ev["t"]) >= 0)
        per_quarter = np.bincount(ev["t"] // 250_000, minlength=int(SECONDS * 4))
        assert per_quarter.min() > 5 * floor, (name, per_quarter.min())  # no quarter second is empty


def test_the_real_scenes_summary_counts_every_held_out_real_scene():
    row = {"windows": 15, "claims": 5, "claims_at_80": 2}
    report = {"silence": dict(row), "person, head and shoulders (DVXplorer), looped": dict(row),
              "person, head and shoulders (DVXplorer), centre crop, looped": dict(row),
              "N-CARS obj_004397, looped": dict(row), "sparklers (EVT2), looped (training side)": dict(row)}
    s = real_scenes_summary(report)
    assert s == {"scenes": 3, "windows": 45, "claims_at_80": 6, "quiet_share": 30 / 45}


def test_a_clip_is_tiled_back_to_back_from_any_start():
    from sast_live.events import make_events, tile

    clip = make_events([0, 40, 99], [1, 2, 3], [0, 0, 0], [1, 0, 1])  # 100 µs long
    assert tile(clip, 250)["t"].tolist() == [0, 40, 99, 100, 140, 199, 200, 240]
    assert tile(clip, 120, start_us=50)["t"].tolist() == [49, 50, 90]  # read from 50 µs into the clip
    assert tile(clip, 250)["x"].tolist() == [1, 2, 3, 1, 2, 3, 1, 2]
