"""The second synthetic gesture generation: painter twin, subjects, light, camera, dataset split."""

from __future__ import annotations

import json

import numpy as np
import pytest

from sast_live.synthetic import people
from sast_live.synthetic.paint import SHAPE_COLUMNS, paint, paint_reference


def test_painter_matches_its_numpy_twin():
    rng = np.random.default_rng(0)
    shapes = np.column_stack([rng.uniform(-10, 70, (30, 4)), rng.uniform(0.5, 12, 30), rng.uniform(0, 1, 30),
                              rng.uniform(0, 0.8, 30), rng.uniform(0, 0.4, 30), rng.uniform(0, 2, 30),
                              rng.uniform(0, 6, 30), rng.uniform(0, 3, 30)])
    shapes[3, 2:4] = shapes[3, 0:2]  # a zero-length capsule: a disc
    assert shapes.shape[1] == SHAPE_COLUMNS
    a, b = np.full((48, 64), 0.3), np.full((48, 64), 0.3)
    paint(shapes, a, 0.37, -1.2)
    paint_reference(shapes, b, 0.37, -1.2)
    np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)
    assert a.std() > 0.1  # something was painted


def test_subjects_are_fixed_people_and_train_and_test_never_meet():
    assert set(people.TRAIN_SUBJECTS).isdisjoint(people.TEST_SUBJECTS)
    assert len(people.TRAIN_SUBJECTS) + len(people.TEST_SUBJECTS) == 29
    assert people.subject(7) == people.subject(7) and people.subject(7) != people.subject(8)
    assert people.subject(7, pool_seed=1) != people.subject(7)
    pool = [people.subject(i) for i in range(29)]
    for field in ("scale", "skin", "shirt", "tempo", "amplitude"):
        assert np.std([getattr(s, field) for s in pool]) > 0.05 * np.mean([getattr(s, field) for s in pool])
    assert {s.long_sleeves for s in pool} == {True, False} and {s.hair_long for s in pool} == {True, False}


def test_the_person_fills_most_of_the_frame_height():
    person = people.subject(3)
    p = people.sample_params(1, person, "natural", np.random.default_rng(0))
    body = people.body_shapes(person, p, 0.0)
    top = float(np.min(np.minimum(body[:, 1], body[:, 3]) - body[:, 4]))
    assert top < 25 and float(np.max(np.maximum(body[:, 1], body[:, 3]) + body[:, 4])) > 127
    assert len(body) >= 2 * 8  # both arms with a hand of palm, four fingers and a thumb


def on_spectrum_peak(events, seconds: float) -> float:
    on = events[events["p"] == 1]
    counts = np.bincount((on["t"] // 1000).astype(int), minlength=int(seconds * 1000))
    spec = np.abs(np.fft.rfft(counts - counts.mean()))
    f = np.fft.rfftfreq(len(counts), 1e-3)
    band = (f > 40) & (f < 300)
    return float(f[band][np.argmax(spec[band])]), float(spec[band].max() / np.median(spec[band]))


@pytest.mark.slow
def test_fluorescent_light_flickers_at_twice_the_mains_frequency():
    ev = people.make_sample(7, 5, people.subject(2), "fluorescent", duration_s=1.5)
    p = people.sample_params(7, people.subject(2), "fluorescent", np.random.default_rng(5))
    peak, strength = on_spectrum_peak(ev, 1.5)
    assert peak == pytest.approx(2 * p["mains_hz"], abs=2) and strength > 20
    steady = people.make_sample(7, 5, people.subject(2), "led", duration_s=1.5)
    peak, strength = on_spectrum_peak(steady, 1.5)
    assert strength < 20 or abs(peak - 100) > 5 and abs(peak - 120) > 5  # no mains flicker under LED light


def test_a_recording_is_reproducible_ordered_and_in_range():
    a = people.make_sample(4, 11, people.subject(5), "natural", duration_s=1.0)
    b = people.make_sample(4, 11, people.subject(5), "natural", duration_s=1.0)
    np.testing.assert_array_equal(a, b)
    assert np.all(np.diff(a["t"]) >= 0) and a["t"][-1] <= 1_000_000
    assert a["x"].max() < 128 and a["y"].max() < 128 and 10_000 < len(a) < 500_000


def test_hot_pixels_fire_on_their_own():
    seed = next(s for s in range(100) if people.sample_params(
        0, people.subject(0), "led", np.random.default_rng(s))["hot_pixels"] >= 2)
    ev = people.make_sample(0, seed, people.subject(0), "led", duration_s=1.0)
    per_pixel = np.bincount(ev["y"].astype(int) * 128 + ev["x"], minlength=128 * 128)
    assert np.sort(per_pixel)[-2] >= 40  # ≥ 50 Hz each; the busiest moving-edge pixel fires far less often


@pytest.mark.slow
def test_the_dataset_records_who_and_which_light(tiny_gestures_v2):
    """The shared set was made in two runs (the test split, then the train split): both are recorded."""
    from training.data.synth import person_and_light

    meta = json.loads((tiny_gestures_v2 / "meta.json").read_text())
    assert meta["splits"] == {"test": 12, "train": 12} and set(meta["recordings"]) == {"test", "train"}
    rec = meta["recordings"]["test"]
    assert len(rec) == 12 and all(sid in people.TEST_SUBJECTS for (sid, _), in rec)
    seen = {(person_and_light("train", c, i)) for c in range(12) for i in range(60)}
    assert {s for s, _ in seen} == set(people.TRAIN_SUBJECTS) and {li for _, li in seen} == set(people.LIGHTINGS)


def test_no_gesture_scenes_are_varied_and_leave_the_gesture_draws_alone():
    """Class 11 draws its scene after everything a gesture draws, so adding it changed no gesture recording;
    every scene kind occurs, and the 'sensor' scene is the sensor alone (no scene change: events everywhere,
    at the noise rate, none piled on a moving edge)."""
    person = people.subject(4)
    gesture = people.sample_params(3, person, "led", np.random.default_rng(9))
    idle = people.sample_params(people.IDLE, person, "led", np.random.default_rng(9))
    assert "scene" not in gesture
    assert {k: v for k, v in idle.items() if k in gesture and k != "cls"}.keys() == set(gesture) - {"cls"}
    assert all(np.all(np.asarray(idle[k]) == np.asarray(gesture[k])) for k in ("cx", "period", "wall_seed"))
    scenes = [people.sample_params(people.IDLE, person, "natural", np.random.default_rng(s))["scene"]
              for s in range(60)]
    assert set(scenes) == set(people.IDLE_SCENES)
    assert people.CLASSES[people.IDLE] == people.NO_GESTURE and len(people.CLASSES) == 12
    seed = next(s for s in range(60) if scenes[s] == "sensor")
    ev = people.make_sample(people.IDLE, seed, person, "fluorescent", duration_s=1.0)
    counts = np.bincount(ev["y"].astype(np.int64) * 128 + ev["x"], minlength=128 * 128)
    p = people.sample_params(people.IDLE, person, "fluorescent", np.random.default_rng(seed))
    assert (counts > 0).mean() > min(0.5, p["noise_hz"])  # spread over the array ...
    assert np.sort(counts)[-200:].sum() < 0.2 * len(ev)  # ... not concentrated on edges (hot pixels aside)
    still = next(s for s in range(60) if scenes[s] == "still")
    a = people.make_sample(people.IDLE, still, person, "led", duration_s=1.0)
    assert len(a) == len(people.make_sample(people.IDLE, still, person, "led", duration_s=1.0))
