"""Synthetic DVS gestures, second generation: filled, shaded people from a pool of subjects, under three kinds of
light, in front of a cluttered wall, seen by the DVS pixel model at DVS Gesture's distance (128×128).

What changes from :mod:`sast_live.synthetic.gestures` (thin outlines) is the scene; the motions of the 11 IBM
classes are the same (:func:`sast_live.synthetic.gestures.hand_targets`), and so is the pixel model.

* **The person** (:func:`body_shapes`): head with hair, neck, a torso that fills the lower frame, upper arms and
  forearms with thickness, sleeves (long or short), hands with a palm, four fingers and a thumb — capsules
  painted with cylinder shading and cloth texture (:mod:`sast_live.synthetic.paint`). The upper body fills most
  of the frame height, as in DVS Gesture.
* **Subjects** (:func:`subject`): proportions, scale and stance, skin, hair and shirt contrast, shirt texture,
  sleeves, handedness, tempo, amplitude — drawn once per subject id, so a subject looks and moves the same in
  every sample. ``TRAIN_SUBJECTS`` and ``TEST_SUBJECTS`` are disjoint (23 / 6, DVS Gesture's split of its 29).
* **Lighting** (:data:`LIGHTINGS`): ``natural`` (slow drift, soft shading), ``fluorescent`` (intensity flicker at
  twice the mains frequency, 100 or 120 Hz, which makes every lit pixel fire in bursts — frames at 1 kHz to
  resolve it), ``led`` (steady, harder shading).
* **Camera**: wall clutter (shelves, frames, posters), a small mount jitter that moves the whole image, sensor
  noise, mismatched thresholds and a few hot pixels.
* **No gesture** (class 11, :data:`NO_GESTURE`): what the camera sees when nobody performs one of the 11 —
  a subject standing still (breathing sway, hands at rest, small fidgets), the empty room, the sensor alone
  (noise and hot pixels, no scene change) or things that are not a person gesturing (cars or carts passing,
  walkers, a hand or object close to the lens, sparks, a machine that moves back and forth in place at 3–24 Hz —
  a fan, a pendulum, a vibrating part) — each under the same lighting and camera effects.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sast_live.events import concat, make_events
from sast_live.synthetic.dvs_sim import DVSConfig, simulate
from sast_live.synthetic.gestures import CLASSES as GESTURES
from sast_live.synthetic.gestures import LEFT, RIGHT, SENSOR, _ik_elbow, hand_targets
from sast_live.synthetic.paint import SHAPE_COLUMNS, paint

__all__ = ["CLASSES", "NO_GESTURE", "IDLE", "IDLE_SCENES", "EXTRA_MOTIONS", "MOTIONS", "MOTION_NAMES", "SENSOR",
           "LIGHTINGS", "TRAIN_SUBJECTS", "TEST_SUBJECTS", "Subject", "subject",
           "sample_params", "render_frames", "make_sample"]

LIGHTINGS = ("natural", "fluorescent", "led")
N_SUBJECTS = 29
TRAIN_SUBJECTS = tuple(range(23))
TEST_SUBJECTS = tuple(range(23, N_SUBJECTS))
MARGIN = 6  # pixels of background beyond each edge, for the mount jitter
NO_GESTURE = "no_gesture"
CLASSES = (*GESTURES, NO_GESTURE)  # the 11 IBM classes, then "nothing the model knows"
IDLE = len(GESTURES)  # the class index of NO_GESTURE
IDLE_SCENES = ("still", "empty", "sensor", "objects")  # what a no-gesture recording shows (see make_sample)
#: motions the stand-in person performs that are none of the 11 classes (a user teaching the sensor a new gesture);
#: motion ids, outside the range of class indices
EXTRA_MOTIONS = {"push_both_hands": 100, "raise_both_arms": 101, "punch_right": 102}
MOTIONS = {**{name: k for k, name in enumerate(CLASSES)}, **EXTRA_MOTIONS}  # every motion a person can perform
MOTION_NAMES = {k: name for name, k in MOTIONS.items()}  # motion id → name


@dataclass(frozen=True)
class Subject:
    """One person: how they look and how they move. Lengths in pixels at scale 1; intensities are reflectance."""

    id: int
    scale: float  # overall size (≈1.3–1.6: the upper body fills most of the 128-pixel height)
    shoulder: float  # half the shoulder width
    upper_arm: float
    forearm: float
    head: float  # head radius
    skin: float
    hair: float
    hair_long: bool
    shirt: float
    shirt_texture: tuple[float, float, float]  # amplitude, spatial frequency (rad/px), angle
    long_sleeves: bool
    handed: float  # RIGHT or LEFT: the hand that strums the air guitar, leads the drums
    tempo: float  # × the class's nominal speed
    amplitude: float  # × the class's nominal size of motion
    stance: float  # horizontal offset of the body centre (px)


def subject(sid: int, pool_seed: int = 0) -> Subject:
    """Subject ``sid`` of the pool ``pool_seed`` (the same person every time it is asked for)."""
    rng = np.random.default_rng([pool_seed, 7919, sid])
    texture = (0.0, 0.0, 0.0) if rng.random() < 0.35 else (
        float(rng.uniform(0.1, 0.35)), float(rng.uniform(0.4, 1.6)), float(rng.uniform(0, np.pi)))
    return Subject(
        id=sid, scale=float(rng.uniform(1.3, 1.6)), shoulder=float(rng.uniform(16, 20)),
        upper_arm=float(rng.uniform(19, 23)), forearm=float(rng.uniform(18, 22)), head=float(rng.uniform(7.5, 9)),
        skin=float(rng.uniform(0.35, 0.8)), hair=float(rng.uniform(0.05, 0.6)), hair_long=bool(rng.random() < 0.4),
        shirt=float(rng.choice([rng.uniform(0.05, 0.25), rng.uniform(0.5, 0.9)])), shirt_texture=texture,
        long_sleeves=bool(rng.random() < 0.6), handed=RIGHT if rng.random() < 0.85 else LEFT,
        tempo=float(rng.uniform(0.75, 1.3)), amplitude=float(rng.uniform(0.8, 1.2)),
        stance=float(rng.uniform(-8, 8)))


def sample_params(cls: int, person: Subject, lighting: str, rng: np.random.Generator) -> dict:
    """Everything one recording draws besides the subject: motion phase and tempo, light, camera, duration."""
    if lighting not in LIGHTINGS:
        raise ValueError(f"lighting must be one of {LIGHTINGS}, got {lighting!r}")
    s = person.scale
    sy = float(rng.uniform(42, 52))
    cx = 64 + person.stance + float(rng.uniform(-4, 4))
    period = float(rng.uniform(0.55, 1.1)) * (0.6 if cls in (0, 8, 9) else 1.0) / person.tempo
    p = {
        "cls": cls, "scale": s, "cx": cx, "shoulder_y": sy, "reach": (person.upper_arm + person.forearm) * s * 0.97,
        "period": period, "amp": person.amplitude * float(rng.uniform(0.85, 1.15)),
        "phase": float(rng.uniform(0, 2 * np.pi)), "sway": float(rng.uniform(0, 2.5)) * s,
        "sway_hz": float(rng.uniform(0.1, 0.4)),
        "other": {side: (rng.uniform(0.3, 1.5, 4), rng.uniform(0, 2 * np.pi, 4), rng.uniform(0.05, 0.3, 4))
                  for side in (RIGHT, LEFT)},
        "lighting": lighting,
        "mains_hz": float(rng.choice([50.0, 60.0])),
        "flicker": float(rng.uniform(0.06, 0.16)),  # ± around the mean: bursts where it crosses a threshold
        "drift": (float(rng.uniform(0.005, 0.03)), float(rng.uniform(0.05, 0.3)), float(rng.uniform(0, 2 * np.pi))),
        "light": {"natural": 1.0, "fluorescent": 0.9, "led": 0.8}[lighting] * float(rng.uniform(0.8, 1.2)),
        "shade": {"natural": 0.35, "fluorescent": 0.45, "led": 0.6}[lighting],
        "jitter": (float(rng.uniform(0.03, 0.3)), rng.uniform(2, 9, 2), rng.uniform(0, 2 * np.pi, 4)),
        "noise_hz": float(rng.uniform(0.05, 0.4)), "threshold": float(rng.uniform(0.18, 0.28)),
        "hot_pixels": int(rng.integers(0, 4)), "hot_seed": int(rng.integers(2**31)),
        "wall_seed": int(rng.integers(2**31)),
        "duration_s": float(rng.uniform(2.0, 4.0)),
    }
    if cls == IDLE:  # drawn after everything else: the gesture classes' draws stay as they were
        p.update(idle_params(rng))
    return p


def idle_params(rng: np.random.Generator) -> dict:
    """What a no-gesture recording shows: ``scene`` (one of :data:`IDLE_SCENES`), the fidgets of a still
    subject, the objects that pass, and (for ``sensor``) a noisier sensor with more hot pixels."""
    scene = str(rng.choice(IDLE_SCENES))
    q = {"scene": scene, "person": scene == "still" or (scene == "objects" and rng.random() < 0.4),
         "fidget": (rng.uniform(0.02, 0.1, 2), rng.uniform(0.1, 0.6, 2), rng.uniform(0, 2 * np.pi, 2)),
         "objects": [object_params(rng) for _ in range(int(rng.integers(1, 4)) if scene == "objects" else 0)]}
    if scene == "sensor":
        q.update(noise_hz=float(rng.uniform(0.2, 4.0)), hot_pixels=int(rng.integers(0, 16)))
    return q


def object_params(rng: np.random.Generator) -> dict:
    """One thing that moves through the view and is not a person gesturing: a ``car`` (long, low, fast,
    crossing), a ``walker`` (tall, thin, slow), a ``near`` hand or object filling part of the view close to the
    lens, a ``spark`` (small, bright, erratic), or a ``machine`` that stays in place and moves back and forth
    fast (2–24 px at 3–24 Hz: a fan, a pendulum, a vibrating part — periodic motion that is not a gesture)."""
    kind = str(rng.choice(["car", "walker", "near", "spark", "machine"]))
    size = {"car": (6, 14, 20, 45), "walker": (3, 6, 10, 25), "near": (20, 45, 0, 30), "spark": (1, 2.5, 0, 4),
            "machine": (3, 14, 0, 40)}[kind]
    direction = rng.uniform(0, 2 * np.pi) if kind in ("near", "spark") else float(rng.choice([0.0, np.pi]))
    speed = {"car": (60, 300), "walker": (15, 60), "near": (10, 80), "spark": (40, 250), "machine": (0, 0)}[kind]
    wobble = (float(rng.uniform(0, 12)), float(rng.uniform(1, 8)))
    if kind == "machine":  # the same draws, scaled: larger, faster, from the start
        wobble = (2 + 2 * wobble[0] * 11 / 12, 3 * wobble[1])
    return {"kind": kind, "r": float(rng.uniform(*size[:2])), "length": float(rng.uniform(*size[2:])),
            "angle": 0.0 if kind == "car" else (np.pi / 2 if kind == "walker" else float(rng.uniform(0, np.pi))),
            "start": rng.uniform([-20, 10], [148, 118]) if kind != "machine" else rng.uniform([20, 20], [108, 108]),
            "velocity": float(rng.uniform(*speed)) *
            np.array([np.cos(direction), np.sin(direction)]),
            "t0": float(rng.uniform(0, 1.5)) * (kind != "machine"),
            "wobble": wobble,
            "value": float(rng.uniform(0.9, 1.5) if kind == "spark" else rng.choice([rng.uniform(0.02, 0.25),
                                                                                      rng.uniform(0.7, 1.0)]))}


def object_shapes(p: dict, t: float) -> np.ndarray:
    """The passing objects of a no-gesture recording at time ``t`` (s), as shape rows."""
    rows = []
    for o in p.get("objects", ()):
        dt = t - o["t0"]
        amp, hz = o["wobble"]
        c = o["start"] + o["velocity"] * dt + amp * np.array([np.sin(2 * np.pi * hz * t), np.cos(2 * np.pi * hz * t)])
        d = 0.5 * o["length"] * np.array([np.cos(o["angle"]), np.sin(o["angle"])])
        rows.append(_limb(c - d, c + d, o["r"], o["value"], 0.3))
    return np.asarray(rows, np.float64).reshape(-1, SHAPE_COLUMNS)


def _idle_hands(p: dict, t: float) -> tuple[np.ndarray, np.ndarray]:
    """Hands of a subject standing still: at rest by the body, drifting a little (fidgets)."""
    amp, hz, ph = p["fidget"]
    out = []
    for k, side in enumerate((RIGHT, LEFT)):
        rest = p[{RIGHT: "shoulder_r", LEFT: "shoulder_l"}[side]] + np.array([side * 6 * p["scale"], 0.92 * p["reach"]])
        wander = amp[k] * p["reach"] * np.array([np.sin(2 * np.pi * hz[k] * t + ph[k]),
                                                 0.5 * np.sin(2 * np.pi * 0.7 * hz[k] * t + 2 * ph[k])])
        out.append(rest + wander)
    return out[0], out[1]


def _limb(a, b, r, value, shade, texture=(0.0, 0.0, 0.0)) -> list[float]:
    return [a[0], a[1], b[0], b[1], r, value, shade, texture[0], texture[1], 0.0, texture[2]]


def _frame_of_body(person: Subject, p: dict, t: float) -> tuple[float, float, dict, dict]:
    """Body centre x, shoulder height, shoulder points and the hand-target parameters at time ``t`` (s)."""
    s = person.scale
    cx, sy = p["cx"] + p["sway"] * np.sin(2 * np.pi * p["sway_hz"] * t), p["shoulder_y"]
    sh = {RIGHT: np.array([cx + RIGHT * person.shoulder * s, sy]), LEFT: np.array([cx + LEFT * person.shoulder * s,
                                                                                   sy])}
    return cx, sy, sh, dict(p, cx=cx, shoulder_r=sh[RIGHT], shoulder_l=sh[LEFT], scale=s)


def push_hands(p: dict, t: float) -> tuple[np.ndarray, np.ndarray]:
    """Both hands pushing towards the camera together, again and again (none of the 11 classes): from in front
    of the lower chest, up and out to just inside the shoulders, where the arm points at the camera and its
    image is foreshortened; ``p`` as :func:`hand_targets` receives it."""
    s, a, reach = p["scale"], p["amp"], p["reach"]
    u = (1 - np.cos(2 * np.pi * t / p["period"] + p["phase"])) / 2  # 0: drawn back, 1: pushed out
    out = []
    for side, shoulder in ((RIGHT, p["shoulder_r"]), (LEFT, p["shoulder_l"])):
        back = np.array([p["cx"] + side * 8 * s, shoulder[1] + 0.55 * reach])
        pushed = np.array([shoulder[0] - side * 3 * s, shoulder[1] + 0.08 * reach])
        out.append(back + min(a, 1.1) * u * (pushed - back))
    return out[0], out[1]


def raise_arms(p: dict, t: float) -> tuple[np.ndarray, np.ndarray]:
    """Both arms swung out sideways from the hips to above the head and back, again and again (a jumping jack's
    arms; none of the 11 classes): each hand on a circle about its shoulder, from hanging down to overhead."""
    u = (1 - np.cos(2 * np.pi * t / p["period"] + p["phase"])) / 2  # 0: arms down, 1: overhead
    ang = np.pi / 2 - min(p["amp"], 1.1) * u * np.radians(150)  # from straight down towards straight up
    out = []
    for side, shoulder in ((RIGHT, p["shoulder_r"]), (LEFT, p["shoulder_l"])):
        out.append(shoulder + 0.9 * p["reach"] * np.array([side * np.cos(ang), np.sin(ang)]))
    return out[0], out[1]


def punch_right(p: dict, t: float) -> tuple[np.ndarray, np.ndarray]:
    """The right fist punched towards the camera from the chest and drawn back, quickly, again and again; the
    left hand rests (none of the 11 classes)."""
    s, reach = p["scale"], p["reach"]
    u = np.clip(np.sin(np.pi * ((t / p["period"] * 2 + p["phase"] / np.pi) % 1.0)) * 1.4, 0.0, 1.0)  # fast out, back
    back = np.array([p["cx"] + RIGHT * 6 * s, p["shoulder_r"][1] + 0.5 * reach])
    out = np.array([p["shoulder_r"][0] - RIGHT * 2 * s, p["shoulder_r"][1] + 0.1 * reach])
    rest_l = p["shoulder_l"] + np.array([LEFT * 6 * s, 0.92 * reach])
    return back + min(p["amp"], 1.1) * u * (out - back), rest_l


def hands_at(person: Subject, p: dict, t: float) -> tuple[np.ndarray, np.ndarray]:
    """Where the right and left hands are at time ``t`` (s) of recording ``p``."""
    cx, _, _, q = _frame_of_body(person, p, t)
    if p["cls"] == IDLE:
        hand_r, hand_l = _idle_hands(q, t)
    elif p["cls"] == EXTRA_MOTIONS["push_both_hands"]:
        hand_r, hand_l = push_hands(q, t)
    elif p["cls"] == EXTRA_MOTIONS["raise_both_arms"]:
        hand_r, hand_l = raise_arms(q, t)
    elif p["cls"] == EXTRA_MOTIONS["punch_right"]:
        hand_r, hand_l = punch_right(q, t)
    else:
        hand_r, hand_l = hand_targets(p["cls"], t, q)
    if person.handed == LEFT and p["cls"] in (8, 9):  # the strumming / lead drum hand follows the handedness
        hand_r, hand_l = (2 * cx - hand_l[0], hand_l[1]), (2 * cx - hand_r[0], hand_r[1])
    return np.asarray(hand_r, np.float64), np.asarray(hand_l, np.float64)


def body_shapes(person: Subject, p: dict, t: float, hands=None) -> np.ndarray:
    """The person at time ``t`` (s) as painter's-order shape rows (torso first, hands last); ``hands`` (right,
    left) overrides where the hands are (a transition between two motions)."""
    s, shade = person.scale, p["shade"]
    cx, sy, sh, _ = _frame_of_body(person, p, t)
    hand_r, hand_l = hands if hands is not None else hands_at(person, p, t)
    head_c = np.array([cx, sy - (person.head + 9) * s])
    shirt = person.shirt
    rows = [
        _limb((cx, sy + 2 * s), (cx, sy + 75 * s), person.shoulder * s * 1.02, shirt, shade, person.shirt_texture),
        _limb((cx, sy - 6 * s), (cx, sy + 1 * s), 3.2 * s, person.skin, shade),  # neck
    ]
    if person.hair_long:
        rows.append(_limb(head_c + [0, -1 * s], head_c + [0, 6 * s], (person.head + 1.2) * s, person.hair, shade))
    rows.append(_limb(head_c + [0, -1.5 * s], head_c + [0, 1.5 * s], person.head * s, person.skin, shade))
    rows.append(_limb(head_c + [0, -3.2 * s], head_c + [0, -2.2 * s], (person.head - 1.0) * s, person.hair, shade))
    for side, hand in ((RIGHT, hand_r), (LEFT, hand_l)):
        elbow, wrist = _ik_elbow(sh[side], np.asarray(hand, float), person.upper_arm * s, person.forearm * s, side)
        sleeve = shirt if person.long_sleeves else person.skin
        rows.append(_limb(sh[side], elbow, 4.6 * s, shirt, shade, person.shirt_texture))
        rows.append(_limb(elbow, wrist, 3.8 * s, sleeve, shade, person.shirt_texture if person.long_sleeves else
                          (0.0, 0.0, 0.0)))
        d = wrist - elbow
        d = d / max(np.hypot(*d), 1e-6)
        palm = wrist + d * 3.5 * s
        rows.append(_limb(wrist, palm, 2.4 * s, person.skin, shade))
        for k in range(4):  # fingers fan out from the palm
            a = np.deg2rad(-24 + 16 * k)
            fd = np.array([d[0] * np.cos(a) - d[1] * np.sin(a), d[0] * np.sin(a) + d[1] * np.cos(a)])
            rows.append(_limb(palm + fd * 1.2 * s, palm + fd * (4.0 + 0.3 * (k in (1, 2))) * s, 0.7 * s,
                              person.skin, shade * 0.5))
        thumb = np.array([-d[1], d[0]]) * side
        rows.append(_limb(wrist + d * 1.5 * s + thumb * 1.5 * s, wrist + d * 3 * s + thumb * 3.8 * s, 0.8 * s,
                          person.skin, shade * 0.5))
    return np.asarray(rows, np.float64).reshape(-1, SHAPE_COLUMNS)


def wall(p: dict) -> np.ndarray:
    """The background (H + 2·MARGIN, W + 2·MARGIN): a wall with clutter, painted once per recording."""
    rng = np.random.default_rng(p["wall_seed"])
    h, w = SENSOR[1] + 2 * MARGIN, SENSOR[0] + 2 * MARGIN
    out = np.full((h, w), float(rng.uniform(0.3, 0.75)))
    out += np.linspace(0, float(rng.uniform(-0.08, 0.08)), w)[None, :]  # light falling off across the wall
    rows = []
    for _ in range(int(rng.integers(3, 9))):  # shelves, door and picture frames, posters
        x, y = rng.uniform(0, w), rng.uniform(0, h * 0.8)
        horizontal = rng.random() < 0.6
        length, r = rng.uniform(10, 60), rng.uniform(1.0, 6.0)
        end = (x + length, y) if horizontal else (x, y + length)
        tex = (float(rng.uniform(0, 0.3)), float(rng.uniform(0.3, 2.0)), float(rng.uniform(0, np.pi)))
        rows.append(_limb((x, y), end, r, float(rng.uniform(0.05, 0.95)), 0.2, tex))
    paint(np.asarray(rows, np.float64).reshape(-1, SHAPE_COLUMNS), out, 0.0, 0.0)
    return np.clip(out, 0.02, 1.0)


def light(p: dict, t: np.ndarray) -> np.ndarray:
    """Illumination at times ``t`` (s), relative (1 = the room's mean)."""
    amp, hz, ph = p["drift"]
    base = p["light"] * (1 + amp * np.sin(2 * np.pi * hz * t + ph))
    if p["lighting"] == "fluorescent":  # the tube's light follows |mains|: flicker at twice the mains frequency
        base = base * (1 + p["flicker"] * np.sin(2 * np.pi * 2 * p["mains_hz"] * t))
    return base


def frame_us(lighting: str) -> int:
    """Rendering interval: 1 kHz resolves a 120 Hz flicker; 500 Hz is plenty for arms."""
    return 1000 if lighting == "fluorescent" else 2000


def wall_view(bg: np.ndarray, jitter, t: float) -> tuple[np.ndarray, float, float]:
    """The wall as the camera sees it at time ``t`` (s) with the mount ``jitter`` (amplitude, Hz per axis, phases):
    ``(frame (H, W), jx, jy)`` — the frame bilinearly shifted by the mount's offset (px), which the caller also
    gives to everything painted over it."""
    jamp, jhz, jph = jitter
    jx = jamp * (np.sin(2 * np.pi * jhz[0] * t + jph[0]) + 0.5 * np.sin(2 * np.pi * 2.3 * jhz[0] * t + jph[2]))
    jy = jamp * (np.sin(2 * np.pi * jhz[1] * t + jph[1]) + 0.5 * np.sin(2 * np.pi * 1.7 * jhz[1] * t + jph[3]))
    ix, iy = int(np.floor(jx)), int(np.floor(jy))
    fx, fy = jx - ix, jy - iy
    y0, x0 = MARGIN + iy, MARGIN + ix
    win = bg[y0:y0 + SENSOR[1] + 1, x0:x0 + SENSOR[0] + 1]  # the mount moved: the wall moves too
    frame = ((1 - fy) * ((1 - fx) * win[:-1, :-1] + fx * win[:-1, 1:]) +
             fy * ((1 - fx) * win[1:, :-1] + fx * win[1:, 1:]))
    return np.ascontiguousarray(frame), jx, jy


def render_frames(person: Subject, p: dict, times_s: np.ndarray, blend=None) -> np.ndarray:
    """Intensity frames (T, 128, 128) of one recording at ``times_s``. ``blend = (p_before, t_start, seconds)``:
    for ``seconds`` after ``t_start`` the hands move from where they were in ``p_before`` at ``t_start`` to where
    ``p`` has them (a person changing from one motion to the next; see :func:`make_sequence`)."""
    bg = wall(p)
    jamp, jhz, jph = p["jitter"]
    lum = light(p, np.asarray(times_s, np.float64))
    person_in_view = p.get("person", True)
    if p.get("scene") == "sensor":  # the sensor alone: nothing in the scene changes
        jamp, lum = 0.0, np.full(len(times_s), p["light"])
    out = np.empty((len(times_s), SENSOR[1], SENSOR[0]))
    for k, t in enumerate(times_s):
        frame, jx, jy = wall_view(bg, (jamp, jhz, jph), t)
        if person_in_view:
            hands = None
            if blend is not None and t < blend[1] + blend[2]:
                w = min(max((t - blend[1]) / blend[2], 0.0), 1.0)
                w = w * w * (3 - 2 * w)  # ease in and out
                a, b = hands_at(person, blend[0], blend[1]), hands_at(person, p, float(t))
                hands = ((1 - w) * a[0] + w * b[0], (1 - w) * a[1] + w * b[1])
            paint(body_shapes(person, p, float(t), hands), frame, jx, jy)
        if p.get("objects"):
            paint(object_shapes(p, float(t)), frame, jx, jy)
        out[k] = np.clip(frame, 0.0, 1.5) * lum[k]
    return out


def hot_pixel_events(p: dict, t_end_us: int) -> np.ndarray:
    """A few pixels that fire on their own at a steady high rate, one polarity each (a camera's defect)."""
    rng = np.random.default_rng(p["hot_seed"])
    parts = []
    for _ in range(p["hot_pixels"]):
        rate = rng.uniform(50, 500)
        t = np.cumsum(rng.exponential(1e6 / rate, int(rate * t_end_us * 1e-6 * 1.5) + 2)).astype(np.int64)
        t = t[t < t_end_us]
        n = len(t)
        parts.append(make_events(t, np.full(n, rng.integers(0, SENSOR[0])), np.full(n, rng.integers(0, SENSOR[1])),
                                 np.full(n, rng.integers(0, 2))))
    return concat(parts) if parts else make_events([], [], [], [])


def sensor_config(p: dict) -> DVSConfig:
    """The DVS pixel model of recording ``p``: its thresholds and noise; mismatch and refractory as every camera."""
    return DVSConfig(threshold=p["threshold"], mismatch=0.04, refractory_us=500, noise_hz=p["noise_hz"])


def with_hot_pixels(events: np.ndarray, p: dict, t_end_us: int) -> np.ndarray:
    """``events`` with recording ``p``'s hot pixels up to ``t_end_us`` merged in, in time order."""
    hot = hot_pixel_events(p, t_end_us)
    if not len(hot):
        return events
    events = concat([events, hot])
    return events[np.argsort(events["t"], kind="stable")]


def make_sample(cls: int, seed: int, person: Subject, lighting: str, duration_s: float | None = None) -> np.ndarray:
    """One recording (EVENT_DTYPE, t from 0 µs) of ``person`` performing class ``cls`` (0–10) under ``lighting``;
    class 11 (:data:`IDLE`) is a no-gesture recording of one of the :data:`IDLE_SCENES`."""
    rng = np.random.default_rng(seed)
    p = sample_params(cls, person, lighting, rng)
    duration = p["duration_s"] if duration_s is None else float(duration_s)
    times = np.arange(0, int(duration * 1e6) + 1, frame_us(lighting), dtype=np.int64)
    frames = render_frames(person, p, times * 1e-6)
    events, _ = simulate(frames, times, sensor_config(p), seed=seed)
    return with_hot_pixels(events, p, int(times[-1]))


# what stays the same through one continuous recording: the room, the camera, the sensor, the stance
_SCENE_KEYS = ("cx", "shoulder_y", "wall_seed", "jitter", "noise_hz", "threshold", "hot_pixels", "hot_seed", "sway",
               "sway_hz", "drift", "mains_hz", "flicker")


def make_sequence(person: Subject, script, seed: int, transition_s: float = 0.3):
    """One continuous recording of ``person`` doing ``script`` — ``[(class, seconds, lighting), …]`` — in one
    room: the camera, wall and sensor stay, each motion is drawn afresh, the hands move smoothly from one motion
    to the next over ``transition_s``, and a change of lighting switches the light (the burst a real switch
    causes included). The DVS state runs on across segments. Class :data:`IDLE` segments are the subject
    standing still.

    Returns ``(events, spans)``: EVENT_DTYPE events from t = 0 and ``[(class, t_start_us, t_end_us), …]``.
    """
    rng = np.random.default_rng(seed)
    base = sample_params(0, person, script[0][2], rng)
    lights: dict[str, float] = {}
    cfg = sensor_config(base)
    state, parts, spans, t0, prev = None, [], [], 0, None
    for cls, seconds, lighting in script:
        p = sample_params(int(cls), person, lighting, rng)
        p.update({k: base[k] for k in _SCENE_KEYS})
        p["light"] = lights.setdefault(lighting, p["light"])  # a room's lamp is as bright each time it is on
        if cls == IDLE:
            p.update(scene="still", person=True, objects=[])
        step = frame_us(lighting)
        times = np.arange(t0 + (0 if state is None else step), t0 + int(seconds * 1e6) + 1, step, dtype=np.int64)
        blend = None if prev is None else (prev, t0 * 1e-6, transition_s)
        frames = render_frames(person, p, times * 1e-6, blend)
        events, state = simulate(frames, times, cfg, seed=seed, state=state)
        parts.append(events)
        spans.append((int(cls), t0, t0 + int(seconds * 1e6)))
        t0, prev = int(times[-1]), p
    return with_hot_pixels(concat(parts), base, t0), spans
