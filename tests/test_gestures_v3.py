"""gestures-v3 (sast_live.synthetic.people_v3): domain randomisation of view, tempo, path, look and sensor, the
new no-gesture scenes, and real events mixed in only from the training side of the declared real split."""

from __future__ import annotations

import numpy as np
import pytest

from sast_live.synthetic import people, people_v3
from sast_live.synthetic.people_v3 import IDLE, IDLE_SCENES, View, draw_view, in_view_share, sample_params
from training.data.real_scenes import HELD_OUT, TRAINING, training_clips


def test_a_view_zooms_turns_and_moves_about_the_centre():
    v = View(zoom=2.0, roll=90.0, offset=(5.0, -3.0))
    pts, size = v.points(np.array([[64.0, 64.0], [74.0, 64.0]]))
    assert np.allclose(pts[0], [69.0, 61.0]) and np.allclose(size, 2.0)
    assert np.allclose(pts[1], [69.0, 61.0 - 20.0])  # 10 px right, doubled, turned a quarter counter-clockwise
    row = np.array([[54.0, 64.0, 74.0, 64.0, 3.0, 0.5, 0.3, 0.1, 1.0, 0.0, 0.0]])
    moved = View(zoom=0.5).shapes(row)
    assert np.allclose(moved[0, :5], [59.0, 64.0, 69.0, 64.0, 1.5]) and moved[0, 8] == pytest.approx(2.0)


def test_drawn_views_cover_the_range_and_keep_most_of_the_body_in_view():
    rng = np.random.default_rng(0)
    person = people_v3.subject(3)
    p = people.sample_params(0, person, "led", rng)
    rows = people.body_shapes(person, p, 0.0)
    views = [draw_view(rows, rng) for _ in range(60)]
    assert all(in_view_share(v.shapes(rows)) >= 0.6 for v in views)
    zooms = [v.zoom for v in views]
    assert min(zooms) < 0.7 and max(zooms) > 1.3
    assert max(abs(v.offset[0]) for v in views) > 20 and max(abs(v.roll) for v in views) > 10


def test_no_gesture_draws_every_scene_and_subjects_wear_no_stripes():
    person = people_v3.subject(5)
    assert person.shirt_texture[0] <= 0.06 and people.subject(5).id == person.id
    scenes = {sample_params(IDLE, person, "natural", np.random.default_rng(s))["scene"] for s in range(200)}
    assert scenes == set(IDLE_SCENES)
    p = sample_params(0, person, "natural", np.random.default_rng(1))
    assert p["sensor"].name.endswith("~") and p["hot_pixels"] == 0 and p["path_style"].shape == (2, 2)


def test_a_recording_is_seeded_and_real_clips_come_only_from_the_training_side(real_dir):
    person = people_v3.subject(2)
    a = people_v3.make_sample(3, 11, person, "led", duration_s=0.4)
    b = people_v3.make_sample(3, 11, person, "led", duration_s=0.4)
    assert np.array_equal(a, b) and len(a) > 1000 and np.all(np.diff(a["t"]) >= 0)
    assert a["x"].max() < 128 and a["y"].max() < 128
    clips = training_clips(str(real_dir), digits=8)
    assert len(clips["small"]) == 8 and len(clips["scene"]) >= 5
    assert all(c["x"].max() < 128 and c["y"].max() < 128 and c["t"][0] == 0 for c in clips["scene"])
    assert not set(HELD_OUT.values()) & set(TRAINING.values())
    seed = next(s for s in range(500)
                if sample_params(IDLE, person, "led", np.random.default_rng(s))["scene"] == "real")
    real = people_v3.make_sample(IDLE, seed, person, "led", duration_s=0.6, real_clips=clips)
    fallback = people_v3.make_sample(IDLE, seed, person, "led", duration_s=0.6)
    assert len(real) > 1000 and not np.array_equal(real, fallback)
