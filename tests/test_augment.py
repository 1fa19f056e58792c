"""Training augmentation of binned windows: each part does what it says, reproducibly, and sharding a batch over
processes gives each its slice of the one-process batch."""

from __future__ import annotations

import pytest
import torch

from training.augment import AugmentConfig, augment

NONE = dict(max_shift=0, max_drop=0.0, max_noise_hz=0.0, max_hot=0)


def blob(T=6, B=4, H=16, W=16) -> torch.Tensor:
    x = torch.zeros(T, B, 2, H, W)
    x[:, :, 1, 6:9, 6:9] = 3.0
    return x


def test_augmentation_is_reproducible_and_leaves_the_input_alone():
    x = blob()
    before = x.clone()
    a = augment(x, torch.Generator().manual_seed(1), AugmentConfig(), 25_000, 16)
    b = augment(x, torch.Generator().manual_seed(1), AugmentConfig(), 25_000, 16)
    assert torch.equal(a, b) and torch.equal(x, before) and not torch.equal(a, x)


def test_shift_moves_the_whole_window_without_wrapping():
    x = blob()
    out = augment(x, torch.Generator().manual_seed(0), AugmentConfig(**{**NONE, "max_shift": 2}), 25_000, 16)
    for b in range(x.shape[1]):
        ys, xs = torch.nonzero(out[0, b, 1], as_tuple=True)
        assert len(ys) == 9 and int(ys.max() - ys.min()) == 2  # the 3×3 blob, moved as one
        assert 4 <= int(ys.min()) <= 8 and 4 <= int(xs.min()) <= 8
        assert torch.equal(out[:, b].sum(0), out[0, b] * x.shape[0])  # the same shift in every bin


def test_drop_thins_events_and_noise_and_hot_pixels_add_them():
    x = blob(T=40, B=8)
    gen = torch.Generator().manual_seed(2)
    dropped = augment(x, gen, AugmentConfig(**{**NONE, "max_drop": 0.5}), 25_000, 16)
    assert torch.all(dropped <= x) and 0.45 < float(dropped.sum() / x.sum()) < 1.0
    noisy = augment(torch.zeros(40, 8, 2, 16, 16), gen, AugmentConfig(**{**NONE, "max_noise_hz": 4.0}), 25_000, 16)
    # rate uniform in [0, 4] Hz per sensor pixel: mean λ = 2 Hz × 16 px × 25 ms / 2 polarities = 0.4 per bin
    assert float(noisy.mean()) == pytest.approx(0.4, rel=0.35)
    hot = augment(torch.zeros(40, 8, 2, 16, 16), gen, AugmentConfig(**{**NONE, "max_hot": 4}), 25_000, 16)
    per_pixel = hot.sum(0).flatten(1)  # (B, C·H·W) counts over the window
    assert per_pixel.max() >= 40 * 100 * 0.025 * 0.5 and (per_pixel > 0).sum(1).max() <= 4


def test_sharded_batches_are_slices_of_the_one_process_batch():
    from types import SimpleNamespace

    from models.config import gesture_config
    from training.data.frames import FrameCache
    from training.train import _global_batch

    cfg = gesture_config()
    frames = [torch.randint(0, 3, (60, 2, 32, 32), dtype=torch.uint8).numpy() for _ in range(8)]
    cache = object.__new__(FrameCache)
    cache.cfg, cache.frames, cache.labels = cfg, frames, torch.arange(8)
    idx = list(range(8))
    one = _global_batch(cache, idx, torch.Generator().manual_seed(5), SimpleNamespace(rank=0, world=1),
                        AugmentConfig())
    parts = [_global_batch(cache, idx, torch.Generator().manual_seed(5), SimpleNamespace(rank=r, world=2),
                           AugmentConfig()) for r in range(2)]
    for r, (x, y) in enumerate(parts):
        assert torch.equal(x, one[0][:, r::2]) and torch.equal(y, one[1][r::2])


def test_onset_empties_the_start_of_some_windows_only():
    x = blob(T=40, B=64)
    out = augment(x, torch.Generator().manual_seed(3), AugmentConfig(**{**NONE, "max_onset": 0.5}), 25_000, 16)
    per_bin = out.sum(dim=(2, 3, 4))  # (T, B)
    empty = [int((per_bin[:, b] == 0).sum()) for b in range(64)]
    for b, k in enumerate(empty):
        assert torch.all(per_bin[:k, b] == 0) and torch.all(per_bin[k:, b] == per_bin[-1, b])  # a prefix, then all
        assert k <= 20
    late = sum(k > 0 for k in empty)
    assert 16 <= late <= 48 and max(empty) >= 10  # about half, up to half the window


def test_hot_pixels_are_no_faster_than_the_models_refractory_filter():
    from dataclasses import replace

    from models.config import gesture_config
    from training.config import TrainConfig
    from training.train import augment_config

    cfg = TrainConfig(augment=True, onset=0.6)
    assert augment_config(cfg, gesture_config()).hot_rate_hz == (100.0, 100.0)  # 10 ms refractory: ≤ 100 Hz
    assert augment_config(cfg, gesture_config()).max_onset == 0.6
    assert augment_config(cfg, replace(gesture_config(), refractory_us=0)).hot_rate_hz == (100.0, 1000.0)
    assert augment_config(TrainConfig(), gesture_config()) is None
    only = augment_config(TrainConfig(onset=0.3), gesture_config())
    assert only.max_onset == 0.3 and only.max_hot == 0 and only.max_noise_hz == 0


def test_geometry_resizes_turns_and_moves_each_window_keeping_its_events():
    import math

    from training.augment import GEOMETRY

    x = torch.zeros(4, 64, 2, 32, 32)
    x[:, :, 1, 14:18, 10:22] = 2.0  # a bar, 4 × 12 input pixels, left of centre
    assert math.isclose(GEOMETRY["geo_p"], 0.8)
    out = augment(x, torch.Generator().manual_seed(3), AugmentConfig(**NONE, **GEOMETRY), 25_000, 16)
    assert out.shape == x.shape and torch.all(out == out.round()) and out.min() >= 0
    kept = out.sum((0, 2, 3, 4)) / x.sum((0, 2, 3, 4))
    assert 0.8 < float(kept.median()) < 1.2  # a resized bar keeps its events (the area change is compensated)
    moved = [b for b in range(64) if not torch.equal(out[:, b], x[:, b])]
    assert 40 <= len(moved) <= 64  # about 80 % of the windows get a geometry
    only_scale = AugmentConfig(**NONE, scale=(2.0, 2.0), geo_p=1.0)
    big = augment(x[:, :1], torch.Generator().manual_seed(0), only_scale, 25_000, 16)
    ys, xs = torch.nonzero(big[0, 0, 1], as_tuple=True)
    assert int(xs.max() - xs.min()) + 1 >= 22 and int(ys.max() - ys.min()) + 1 >= 7  # twice as large about the centre
    turned = augment(x[:, :1], torch.Generator().manual_seed(0),
                     AugmentConfig(**NONE, rotation=90.0, geo_p=1.0), 25_000, 16)
    ys, xs = torch.nonzero(turned[0, 0, 1], as_tuple=True)
    assert int(ys.max() - ys.min()) > int(xs.max() - xs.min())  # a bar turned a quarter stands up
    with pytest.raises(Exception, match="impossible augmentation"):
        AugmentConfig(scale=(2.0, 1.0))


def test_geometry_each_draws_the_resize_the_turn_and_the_move_apart():
    from training.augment import GEOMETRY_EACH, geometry

    B = 400
    x = torch.zeros(1, B, 2, 32, 32)
    x[:, :, 1, 14:18, 10:22] = 2.0  # the bar of the test above
    only = {"scale": dict(scale=(2.0, 2.0)), "turn": dict(rotation=90.0), "move": dict(geo_shift=6)}
    changed = {}
    for name, kw in only.items():  # one change at a time, same seed: which windows got that change
        cfg = AugmentConfig(**NONE, geo_p=0.5, geo_each=True, **kw)
        out = geometry(x, torch.Generator().manual_seed(5), cfg)
        changed[name] = torch.tensor([not torch.equal(out[:, b], x[:, b]) for b in range(B)])
    for name, c in changed.items():
        assert 0.35 < float(c.float().mean()) < 0.6, name  # about half the windows (a move of 0 changes nothing)
    # drawn apart: how often two changes meet is near the product of their shares, not their smaller share
    both = float((changed["scale"] & changed["turn"]).float().mean())
    assert abs(both - float(changed["scale"].float().mean() * changed["turn"].float().mean())) < 0.08
    assert both < 0.8 * min(float(changed["scale"].float().mean()), float(changed["turn"].float().mean()))
    together = AugmentConfig(**NONE, geo_p=0.5, scale=(2.0, 2.0), rotation=90.0)  # without geo_each: one draw
    a = geometry(x, torch.Generator().manual_seed(5), together)
    b = geometry(x, torch.Generator().manual_seed(5), AugmentConfig(**NONE, geo_p=0.5, scale=(2.0, 2.0)))
    assert [torch.equal(a[:, i], x[:, i]) for i in range(B)] == [torch.equal(b[:, i], x[:, i]) for i in range(B)]
    assert GEOMETRY_EACH["geo_each"] and GEOMETRY_EACH["scale"] == (0.55, 1.6)


def test_retimed_windows_play_more_or_fewer_bins_of_the_recording():
    import numpy as np

    from training.augment import retime

    frames = np.zeros((100, 2, 4, 4), np.uint8)
    frames[:, 1, 0, 0] = np.arange(100) % 7
    gen = torch.Generator().manual_seed(0)
    fast = retime(frames, 10, 80, 40, gen)  # twice the tempo: two source bins per output bin
    assert fast.shape == (40, 2, 4, 4) and fast[:, 1, 0, 0].sum() == frames[10:90, 1, 0, 0].sum()
    slow = retime(frames, 10, 20, 40, gen)  # half the tempo: each source bin spread over two, events thinned
    assert slow.shape == (40, 2, 4, 4) and slow[:, 1, 0, 0].sum() <= 2 * frames[10:30, 1, 0, 0].sum()
    assert abs(int(slow[:, 1, 0, 0].sum()) - int(frames[10:30, 1, 0, 0].sum())) < 25


def test_a_training_batch_at_twice_the_tempo_holds_twice_the_bins_of_each_recording():
    from types import SimpleNamespace

    from models.config import gesture_config
    from training.data.frames import FrameCache
    from training.train import _global_batch

    cfg = gesture_config()
    frames = [torch.ones((200, 2, 32, 32), dtype=torch.uint8).numpy() for _ in range(4)]
    cache = object.__new__(FrameCache)
    cache.cfg, cache.frames, cache.labels = cfg, frames, torch.arange(4)
    fast = AugmentConfig(**NONE, speed=(2.0, 2.0), geo_p=1.0)
    x, y = _global_batch(cache, [0, 1, 2, 3], torch.Generator().manual_seed(1), SimpleNamespace(rank=0, world=1), fast)
    assert x.shape == (cfg.n_bins, 4, 2, 32, 32) and torch.all(x == 2) and y.tolist() == [0, 1, 2, 3]


def test_a_shrink_in_training_puts_the_counts_where_shrinking_the_events_would():
    """The training-time shrink (pooled 32×32 frames) against the robustness grid's own (events on the 128×128
    sensor, then pooled): the same counts, the same place, the same extent."""
    import math

    import numpy as np

    from sast_live.events import make_events
    from sast_live.transforms.geometry import Warp, warp
    from training.augment import _splat

    rng = np.random.default_rng(0)
    n = 20_000
    x, y = rng.integers(8, 56, n), rng.integers(50, 66, n)  # a bar left of centre, 48 × 16 sensor pixels
    ev = make_events(np.sort(rng.integers(0, 1000, n)), x, y, np.ones(n, np.int8))

    def pooled(e):
        f = np.zeros((1, 1, 32, 32))
        np.add.at(f, (0, 0, e["y"] // 4, e["x"] // 4), 1)
        return torch.from_numpy(f).float()

    want = pooled(warp(ev, (128, 128), Warp(0.6, (8, -4), 20.0), seed=1))
    got = _splat(pooled(ev), 0.6, math.radians(-20.0), (2.0, -1.0))
    assert got.sum() == want.sum() == n  # nothing lost, nothing gained

    def centroid(f):
        ys, xs = torch.meshgrid(torch.arange(32.0), torch.arange(32.0), indexing="ij")
        return float((f[0, 0] * xs).sum() / f.sum()), float((f[0, 0] * ys).sum() / f.sum())

    assert np.allclose(centroid(got), centroid(want), atol=0.5)
    overlap = torch.minimum(got, want).sum() / n
    assert overlap > 0.7, overlap  # the same pixels, up to the rounding of pooled centres


def test_geometry_wide_covers_the_grid_on_subjects_who_stand_off_centre_or_are_tall():
    """--geometry-wide: the draw's ranges reach the grid's changes on top of each subject's own stance (±8 sensor px)
    and height (1.3–1.6), with a margin; the rest of the draw is --augment-geometry's; alone it is refused."""
    from dataclasses import replace

    from models.config import gesture_config
    from sast_live.errors import SastLiveError
    from sast_live.synthetic import people
    from training.augment import GEOMETRY_EACH
    from training.config import TrainConfig
    from training.train import augment_config

    cfg = augment_config(TrainConfig(augment=True, augment_geometry=True, geometry_each=True, geometry_wide=True),
                         gesture_config())
    plain = augment_config(TrainConfig(augment=True, augment_geometry=True, geometry_each=True), gesture_config())
    assert plain.scale == GEOMETRY_EACH["scale"] and plain.geo_shift == GEOMETRY_EACH["geo_shift"]
    assert replace(cfg, scale=plain.scale, geo_shift=plain.geo_shift) == plain
    subjects = [people.subject(i) for i in (*people.TRAIN_SUBJECTS, *people.TEST_SUBJECTS)]
    pool = gesture_config().sensor_size[0] // gesture_config().in_size[0]  # sensor px per input pixel
    assert cfg.geo_shift * pool > 20 + max(abs(s.stance) for s in subjects)
    mean_height = (1.3 + 1.6) / 2
    assert cfg.scale[0] < 0.6 * min(s.scale for s in subjects) / mean_height
    assert cfg.scale[1] > 1.5 * max(s.scale for s in subjects) / mean_height
    with pytest.raises(SastLiveError, match="add --augment-geometry"):
        TrainConfig(geometry_wide=True)


def test_the_events_twin_of_noise_and_hot_pixels_draws_as_training_does_and_keeps_the_recording():
    """:func:`nuisance_events` (the feature bank's moved copies): noise at a rate uniform in [0, max] per pixel, up to
    ``max_hot`` pixels at a hot rate each, in time order, reproducible; :func:`with_nuisance` keeps every event."""
    import numpy as np

    from sast_live.events import make_events
    from training.augment import nuisance_events, with_nuisance

    rng = np.random.default_rng(0)
    cfg = AugmentConfig(**{**NONE, "max_noise_hz": 4.0})
    counts = [len(nuisance_events(0, 1_000_000, (32, 32), rng, cfg)) for _ in range(200)]
    assert np.mean(counts) == pytest.approx(2.0 * 32 * 32, rel=0.1)  # mean rate 2 Hz × 1,024 px × 1 s
    assert min(counts) < 0.2 * 4 * 1024 and max(counts) > 0.8 * 4 * 1024  # the rate is drawn anew each time
    hot_cfg = AugmentConfig(**{**NONE, "max_hot": 5})
    for _ in range(20):
        ev = nuisance_events(0, 1_000_000, (32, 32), rng, hot_cfg)
        pixels, n = np.unique(ev["x"].astype(int) * 32 + ev["y"], return_counts=True)
        assert len(pixels) <= 5 and (len(n) == 0 or n.min() > 50)  # ≥ 100 Hz each over 1 s
        assert np.all(np.diff(ev["t"]) >= 0) and (len(ev) == 0 or (ev["t"].min() >= 0 and ev["t"].max() < 1e6))
    a, b = (nuisance_events(5, 900_000, (32, 32), np.random.default_rng(3)) for _ in range(2))
    assert np.array_equal(a, b) and len(a)
    t = np.arange(100_000, 600_000, 1000)
    rec = make_events(t, t % 32, t % 7, t % 2)
    both = with_nuisance(rec, (32, 32), np.random.default_rng(1))
    assert len(both) > len(rec) and np.all(np.diff(both["t"]) >= 0)
    assert both["t"].min() >= rec["t"][0] and both["t"].max() <= rec["t"][-1]
    kept = {tuple(e) for e in rec.tolist()}
    assert kept <= {tuple(e) for e in both.tolist()}


def test_mirror_names_swap_sides_and_the_sense_of_circles():
    from models.config import gesture_config
    from training.augment import mirror_classes, mirror_name

    assert mirror_name("left_arm_clockwise") == "right_arm_counter_clockwise"
    assert mirror_name("right_arm_counter_clockwise") == "left_arm_clockwise"
    assert mirror_name("right_hand_wave") == "left_hand_wave" and mirror_name("swipe_left") == "swipe_right"
    assert mirror_name("air_guitar") == "air_guitar" and mirror_name("counter") == "counter"
    classes = gesture_config().classes
    image = mirror_classes(classes)
    assert all(image[image[i]] == i for i in range(len(classes)))  # a mirror twice is no mirror
    assert classes[image[classes.index("left_arm_clockwise")]] == "right_arm_counter_clockwise"
    assert image[classes.index("hand_clap")] == classes.index("hand_clap")
    assert mirror_classes(["punch_right", "no_gesture"]) == [-1, 1]  # a taught side without its other side


@pytest.mark.parametrize("cls", range(1, 7))
def test_the_synthetic_people_move_as_the_mirrored_class_says(cls):
    """What the mirror's class map assumes of the generator: class c seen in a mirror about the body's centre is
    the class mirror_classes names, with another phase (waves and whole-arm circles; the symmetric classes map to
    themselves)."""
    import numpy as np

    from sast_live.synthetic.gestures import CLASSES, LEFT, RIGHT, hand_targets
    from training.augment import mirror_classes

    cx, s, reach = 64.0, 1.0, 40.0
    p = {"scale": s, "cx": cx, "reach": reach, "amp": 1.0, "period": 0.8, "phase": 0.7,
         "shoulder_r": np.array([cx + RIGHT * 11 * s, 50.0]), "shoulder_l": np.array([cx + LEFT * 11 * s, 50.0])}
    image = mirror_classes(CLASSES)[cls]
    # a circle's mirror image runs the other way from the mirrored start (pi - phase); a wave's swings the other
    # way first (phase + pi)
    q = dict(p, phase=np.pi - p["phase"] if cls >= 3 else p["phase"] + np.pi)
    for t in np.linspace(0, 1.5, 13):
        right, left = hand_targets(cls, t, p)
        m_right, m_left = hand_targets(image, t, q)
        flip = np.array([-1.0, 1.0])
        np.testing.assert_allclose(m_left, [2 * cx, 0] + flip * right, atol=1e-9)
        np.testing.assert_allclose(m_right, [2 * cx, 0] + flip * left, atol=1e-9)


def test_mirror_flips_the_drawn_windows_and_gives_them_their_mirror_class():
    from models.config import gesture_config
    from training.augment import mirror, mirror_classes

    torch.manual_seed(0)
    x = torch.rand(3, 64, 2, 8, 8)
    classes = list(gesture_config().classes) + ["punch_right"]
    image = mirror_classes(classes)
    y = torch.arange(64) % len(classes)
    mx, my = mirror(x, y, torch.Generator().manual_seed(1), 0.5, image)
    flipped = torch.tensor([not torch.equal(mx[:, b], x[:, b]) for b in range(64)])
    assert torch.equal(my, torch.where(flipped, torch.as_tensor(image)[y], y))
    for b in range(64):
        assert torch.equal(mx[:, b], x[:, b].flip(-1) if flipped[b] else x[:, b])
    assert 16 < int(flipped.sum()) < 48 and not flipped[y == len(classes) - 1].any()  # punch_right: never
    same_x, same_y = mirror(x, y, torch.Generator().manual_seed(1), 0.0, image)
    assert torch.equal(same_x, x) and torch.equal(same_y, y)


def test_mirror_is_an_option_of_its_own():
    from models.config import gesture_config
    from training.augment import MIRROR_P
    from training.config import TrainConfig
    from training.train import augment_config

    only = augment_config(TrainConfig(mirror=True), gesture_config())
    assert only.mirror_p == MIRROR_P and only.max_hot == 0 and not only.has_geometry
    assert augment_config(TrainConfig(augment=True), gesture_config()).mirror_p == 0
    with pytest.raises(Exception, match="impossible augmentation"):
        AugmentConfig(mirror_p=1.5)
