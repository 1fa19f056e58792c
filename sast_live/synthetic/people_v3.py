"""Synthetic DVS gestures, third generation: the people of :mod:`sast_live.synthetic.people` seen the way real
cameras see them — anywhere in the view, at any size, turned, at another tempo, by another sensor — so a network
trained on them cannot lean on where, how large or how crisp a person is (domain randomisation).

What each recording draws, beyond gestures-v2's subject, light and room:

* **View** (:class:`View`, :func:`draw_view`): zoom 0.55–1.5 × gestures-v2's person (log-uniform), in-plane
  roll ±15°, camera tilt (a keystone: the far end of the body narrower, ±15 % over the frame), and a position
  anywhere that keeps ≥ 60 % of the body's area in view — so partial views (upper body only, arms and head
  only, the body cut by an edge) occur as a camera on a desk gives them.
* **Motion**: tempo 0.6–1.6 × the subject's own (log-uniform), and a per-recording path style: each hand path
  stretched (0.8–1.2 per axis) and turned (±12°) about its shoulder, so a class is not one path.
* **Look**: clothing without regular stripes (a faint weave at most), a wall with a real-looking texture (two
  scales of smoothed noise over the clutter), and in a third of the gesture recordings something moving behind
  the person (a walker, a cart, a machine, a spark).
* **Sensor**: a randomised sensor profile (:func:`sast_live.synthetic.sensor_profiles.randomised`): ON/OFF
  asymmetry, per-pixel mismatch, refractory period, bandwidth lag, jitter, clustered background activity, hot
  pixels of one of the real camera families.
* **Real events**: when the caller passes real clips (EVENT_DTYPE on 128×128, from real cameras), a fifth of the
  gesture recordings get a small real clip looped somewhere in the view as a distractor, and a no-gesture
  recording may be a real scene itself (see :data:`IDLE_SCENES`).

No gesture (class 11) adds, to gestures-v2's still subject, empty room, sensor alone and passing objects: a
person **walking** across, a person **standing up or sitting down**, a **hand close to the lens** sweeping
through, and a **real** scene (a real clip looped, moved and resized).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np
from scipy.ndimage import gaussian_filter

from sast_live.events import concat, tile
from sast_live.synthetic import people
from sast_live.synthetic.dvs_sim import DVSConfig, simulate
from sast_live.synthetic.gestures import LEFT, RIGHT
from sast_live.synthetic.paint import SHAPE_COLUMNS, paint
from sast_live.synthetic.sensor_profiles import SensorProfile, apply_profile, randomised
from sast_live.transforms.geometry import Warp, warp

__all__ = ["CLASSES", "IDLE", "IDLE_SCENES", "SENSOR", "LIGHTINGS", "TRAIN_SUBJECTS", "TEST_SUBJECTS", "View",
           "draw_view", "subject", "sample_params", "render_frames", "make_sample"]

CLASSES, IDLE, SENSOR, LIGHTINGS = people.CLASSES, people.IDLE, people.SENSOR, people.LIGHTINGS
TRAIN_SUBJECTS, TEST_SUBJECTS = people.TRAIN_SUBJECTS, people.TEST_SUBJECTS
#: what a no-gesture recording shows, and how often (walkers and people getting up are what real footage shows)
IDLE_SCENES = {"still": 0.14, "empty": 0.08, "sensor": 0.08, "objects": 0.14, "walking": 0.16, "rising": 0.12,
               "near_hand": 0.12, "real": 0.16}
ZOOM = (0.55, 1.5)
ROLL_DEG = 15.0
TILT = 0.15
MIN_IN_VIEW = 0.6
TEMPO = (0.6, 1.6)
CENTRE = np.array([64.0, 64.0])


@dataclass(frozen=True)
class View:
    """Where the camera puts the person: ``zoom`` (× gestures-v2's size), ``roll`` (degrees, counter-clockwise on
    screen), ``tilt`` (keystone: relative width change per 64 px down), ``offset`` (px, after zoom and roll)."""

    zoom: float = 1.0
    roll: float = 0.0
    tilt: float = 0.0
    offset: tuple[float, float] = (0.0, 0.0)

    def points(self, xy: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Image positions of person-space points ``xy`` (N, 2), and the local size factor at each (N,)."""
        xy = np.asarray(xy, np.float64).reshape(-1, 2)
        k = 1.0 + self.tilt * (xy[:, 1] - CENTRE[1]) / 64.0
        rel = np.stack([(xy[:, 0] - CENTRE[0]) * k, xy[:, 1] - CENTRE[1]], 1)
        a = math.radians(-self.roll)
        rot = np.array([[math.cos(a), -math.sin(a)], [math.sin(a), math.cos(a)]])
        return CENTRE + self.zoom * rel @ rot.T + np.asarray(self.offset), self.zoom * np.sqrt(np.abs(k))

    def shapes(self, rows: np.ndarray) -> np.ndarray:
        """Shape rows (:mod:`sast_live.synthetic.paint`) moved into the image: ends mapped, radii scaled, the
        texture's spatial frequency divided by the size (it stays on the cloth)."""
        rows = np.array(rows, np.float64).reshape(-1, SHAPE_COLUMNS)
        if not len(rows):
            return rows
        a, sa = self.points(rows[:, 0:2])
        b, sb = self.points(rows[:, 2:4])
        size = (sa + sb) / 2
        rows[:, 0:2], rows[:, 2:4] = a, b
        rows[:, 4] *= size
        rows[:, 8] /= size
        return rows


def in_view_share(rows: np.ndarray) -> float:
    """The share of the shapes' area (capsules sampled along their axes) inside the 128×128 image."""
    total = inside = 0.0
    for x0, y0, x1, y1, r, *_ in rows:
        area = 2 * r * math.hypot(x1 - x0, y1 - y0) + math.pi * r * r
        u = np.linspace(0, 1, 7)
        px, py = x0 + u * (x1 - x0), y0 + u * (y1 - y0)
        inside += area * np.mean((px >= 0) & (px < 128) & (py >= 0) & (py < 128))
        total += area
    return inside / total if total else 0.0


def draw_view(person_rows: np.ndarray, rng: np.random.Generator) -> View:
    """A random view of a person drawn as ``person_rows`` at gestures-v2's geometry, ≥ 60 % of it in view."""
    zoom = float(np.exp(rng.uniform(*np.log(ZOOM))))
    roll, tilt = float(rng.uniform(-ROLL_DEG, ROLL_DEG)), float(rng.uniform(-TILT, TILT))
    view = View(zoom, roll, tilt)
    for _ in range(40):
        candidate = replace(view, offset=(float(rng.uniform(-56, 56)), float(rng.uniform(-48, 48))))
        if in_view_share(candidate.shapes(person_rows)) >= MIN_IN_VIEW:
            return candidate
    return view  # centred: always enough in view


def subject(sid: int, pool_seed: int = 0) -> people.Subject:
    """Subject ``sid`` of gestures-v2's pool, wearing clothes without regular stripes (at most a faint weave)."""
    person = people.subject(sid, pool_seed)
    rng = np.random.default_rng([pool_seed, 104_729, sid])
    weave = (float(rng.uniform(0, 0.06)), float(rng.uniform(1.5, 3.0)), float(rng.uniform(0, np.pi)))
    return replace(person, shirt_texture=weave)


def _path_style(rng: np.random.Generator) -> np.ndarray:
    """A 2×2 map applied to every hand's offset from its shoulder: stretch per axis and a small turn."""
    sx, sy = rng.uniform(0.8, 1.2, 2)
    a = math.radians(float(rng.uniform(-12, 12)))
    return np.array([[math.cos(a), -math.sin(a)], [math.sin(a), math.cos(a)]]) @ np.diag([sx, sy])


def sample_params(cls: int, person: people.Subject, lighting: str, rng: np.random.Generator) -> dict:
    """gestures-v2's draws for one recording, then the view, tempo, path style, background, sensor and the
    no-gesture scene (drawn after, so the v2 draws stay as they are)."""
    p = people.sample_params(cls, person, lighting, rng)
    p["noise_hz"] = float(rng.uniform(0.0, 0.05))  # the sensor profile brings the background activity
    p["hot_pixels"] = 0  # and the hot pixels
    tempo = float(np.exp(rng.uniform(*np.log(TEMPO))))
    p["period"] /= tempo
    p["path_style"] = _path_style(rng)
    p["texture"] = (float(rng.uniform(0.02, 0.1)), float(rng.uniform(0.01, 0.06)), int(rng.integers(2**31)))
    p["behind"] = [people.object_params(rng) for _ in range(int(rng.random() < 1 / 3))]
    for o in p["behind"]:
        o["r"] *= 0.6  # further away than the person: smaller
    p["sensor"] = randomised(rng)
    p["distractor"] = bool(rng.random() < 0.2)
    p["real_seed"] = int(rng.integers(2**31))
    if cls == IDLE:
        scene = str(rng.choice(list(IDLE_SCENES), p=list(IDLE_SCENES.values())))
        p["scene"] = scene
        p["person"] = scene in ("still", "walking", "rising") or (scene == "objects" and rng.random() < 0.4)
        if scene != "objects":
            p["objects"] = []
        elif not p.get("objects"):
            p["objects"] = [people.object_params(rng) for _ in range(int(rng.integers(1, 4)))]
        if scene == "sensor":  # the sensor alone: a noisier one
            p["sensor"] = p["sensor"].scaled(ba_hz=float(rng.uniform(1, 5)), hot_share=float(rng.uniform(1, 4)))
        p["walk"] = (float(rng.choice([-1, 1]) * rng.uniform(15, 50)), float(rng.uniform(1.5, 2.5)))  # px/s, Hz
        p["rise"] = (float(rng.uniform(0, 1.0)), float(rng.uniform(0.7, 1.5)), float(rng.choice([-1, 1])))
        if scene == "walking":  # arms swing with each step
            p["fidget"] = (rng.uniform(0.08, 0.18, 2), np.full(2, p["walk"][1] / 2), np.array([0.0, np.pi]))
        if scene == "near_hand":
            p["near"] = {"start": rng.uniform([-30, -30], [158, 158]), "velocity": rng.uniform(-120, 120, 2),
                         "zoom": float(rng.uniform(2.5, 5.0)), "turn": float(rng.uniform(0, 2 * np.pi)),
                         "skin": float(rng.uniform(0.3, 0.85))}
    return p


def _body_rows(person: people.Subject, p: dict, t: float, hands=None) -> np.ndarray:
    """The person at time ``t`` in gestures-v2's geometry, walking or rising when the scene says so."""
    q = p
    if p.get("scene") == "walking":
        vx, step_hz = p["walk"]
        q = dict(p, cx=p["cx"] + vx * (t - 1.0), shoulder_y=p["shoulder_y"] + 1.5 * abs(math.sin(math.pi * step_hz
                                                                                                  * t)))
    elif p.get("scene") == "rising":
        t0, dur, sign = p["rise"]
        u = min(max((t - t0) / dur, 0.0), 1.0)
        u = u * u * (3 - 2 * u)
        depth = 40 * person.scale * (u if sign > 0 else 1 - u)  # sitting: the body lower in the frame
        q = dict(p, shoulder_y=p["shoulder_y"] + depth)
    if hands is None and p["cls"] != IDLE:
        hands = styled_hands(person, q, t)
    return people.body_shapes(person, q, t, hands)


def styled_hands(person: people.Subject, p: dict, t: float):
    """gestures-v2's hands for the class, each offset from its shoulder mapped by the recording's path style."""
    hand_r, hand_l = people.hands_at(person, p, t)
    _, _, sh, _ = people._frame_of_body(person, p, t)
    m = p["path_style"]
    return sh[RIGHT] + m @ (hand_r - sh[RIGHT]), sh[LEFT] + m @ (hand_l - sh[LEFT])


def _hand_near_lens(p: dict, t: float) -> np.ndarray:
    """A hand (palm and fingers) a few centimetres from the lens sweeping through: huge, blurred by nothing."""
    n = p["near"]
    c = n["start"] + n["velocity"] * t
    z, a, skin = n["zoom"], n["turn"] + 0.3 * math.sin(2 * t), n["skin"]
    d = np.array([math.cos(a), math.sin(a)])
    rows = [people._limb(c - d * 12 * z, c, 4.0 * z, skin, 0.4), people._limb(c, c + d * 3 * z, 2.6 * z, skin, 0.4)]
    palm = c + d * 3 * z
    for k in range(4):
        b = a + math.radians(-24 + 16 * k)
        fd = np.array([math.cos(b), math.sin(b)])
        rows.append(people._limb(palm + fd * 1.2 * z, palm + fd * 4.2 * z, 0.75 * z, skin, 0.3))
    return np.asarray(rows, np.float64)


def wall(p: dict) -> np.ndarray:
    """gestures-v2's wall with a real-looking texture over it (two scales of smoothed noise)."""
    out = people.wall(p)
    amp, fine, seed = p["texture"]
    rng = np.random.default_rng(seed)
    coarse = gaussian_filter(rng.standard_normal(out.shape), 6.0)
    grain = gaussian_filter(rng.standard_normal(out.shape), 1.0)
    tex = coarse / (np.abs(coarse).max() + 1e-9) * amp + grain / (np.abs(grain).max() + 1e-9) * fine
    return np.clip(out * (1 + tex), 0.02, 1.0)


def render_frames(person: people.Subject, p: dict, view: View, times_s: np.ndarray) -> np.ndarray:
    """Intensity frames (T, 128, 128): the wall, things moving behind, the person through ``view``, then what
    passes in front (no-gesture objects, a hand near the lens)."""
    bg = wall(p)
    jamp, jhz, jph = p["jitter"]
    lum = people.light(p, np.asarray(times_s, np.float64))
    if p.get("scene") == "sensor":
        jamp, lum = 0.0, np.full(len(times_s), p["light"])
    out = np.empty((len(times_s), people.SENSOR[1], people.SENSOR[0]))
    for k, t in enumerate(times_s):
        t = float(t)
        frame, jx, jy = people.wall_view(bg, (jamp, jhz, jph), t)
        if p["behind"]:
            paint(people.object_shapes({"objects": p["behind"]}, t), frame, jx, jy)
        if p.get("person", True):
            paint(view.shapes(_body_rows(person, p, t)), frame, jx, jy)
        if p.get("objects"):
            paint(people.object_shapes(p, t), frame, jx, jy)
        if p.get("scene") == "near_hand":
            paint(_hand_near_lens(p, t), frame, jx, jy)
        out[k] = np.clip(frame, 0.0, 1.5) * lum[k]
    return out


def real_clip_events(clip: np.ndarray, duration_us: int, rng: np.random.Generator, small: bool) -> np.ndarray:
    """A real clip (128×128, t from 0) looped over ``duration_us``, resized, turned and moved (a distractor:
    ``small``, somewhere off-centre; else a whole scene)."""
    ev = tile(clip, duration_us, int(rng.integers(0, int(clip["t"][-1]) + 1)))
    if small:
        w = Warp(float(rng.uniform(0.6, 1.3)), (int(rng.integers(-50, 51)), int(rng.integers(-50, 51))),
                 float(rng.uniform(-30, 30)))
    else:
        w = Warp(float(rng.uniform(0.8, 1.6)), (int(rng.integers(-20, 21)), int(rng.integers(-20, 21))),
                 float(rng.uniform(-20, 20)), float(rng.uniform(0.7, 1.4)))
    return warp(ev, people.SENSOR, w, seed=int(rng.integers(2**31)))


def make_sample(cls: int, seed: int, person: people.Subject, lighting: str, duration_s: float | None = None,
                real_clips=None, sensor: SensorProfile | None = None) -> np.ndarray:
    """One gestures-v3 recording (EVENT_DTYPE, t from 0 µs) of ``person`` doing class ``cls`` under ``lighting``.

    ``real_clips``: ``{"small": [...], "scene": [...]}`` real recordings on 128×128 (t from 0) to mix in as
    distractors and real no-gesture scenes; without them those draws fall back to synthetic content.
    ``sensor``: this profile instead of the randomised one (the realism report's camera-by-camera comparison)."""
    rng = np.random.default_rng(seed)
    p = sample_params(cls, person, lighting, rng)
    if sensor is not None:
        p["sensor"] = sensor
    duration = p["duration_s"] if duration_s is None else float(duration_s)
    times = np.arange(0, int(duration * 1e6) + 1, people.frame_us(lighting), dtype=np.int64)
    view = draw_view(people.body_shapes(person, p, 0.0), rng)
    clips = real_clips or {}
    real_rng = np.random.default_rng(p["real_seed"])
    if p.get("scene") == "real" and clips.get("scene"):
        scene = clips["scene"][int(real_rng.integers(len(clips["scene"])))]
        events = real_clip_events(scene, int(times[-1]), real_rng, small=False)  # the profile adds the noise
    else:
        if p.get("scene") == "real":  # no real clips given: a passing object instead
            p.update(scene="objects", objects=[people.object_params(rng)], person=False)
        frames = render_frames(person, p, view, times * 1e-6)
        cfg = DVSConfig(threshold=p["threshold"], mismatch=0.04, refractory_us=100, noise_hz=p["noise_hz"])
        events, _ = simulate(frames, times, cfg, seed=seed)
        if p["distractor"] and clips.get("small") and cls != IDLE:
            small = clips["small"][int(real_rng.integers(len(clips["small"])))]
            events = concat([events, real_clip_events(small, int(times[-1]), real_rng, small=True)])
    events = events[np.argsort(events["t"], kind="stable")]
    return apply_profile(events, p["sensor"], people.SENSOR, seed=seed)

