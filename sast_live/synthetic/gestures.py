"""Synthetic DVS128-Gesture-like recordings: an articulated figure performing the 11 IBM gesture classes
in front of a simulated DVS on a 128×128 sensor.

The figure is a head, a torso and two arms of two segments each (capsules, :mod:`sast_live.synthetic.render`).
Each class prescribes the hands' trajectories; elbows follow by two-link inverse kinematics (bent outwards).
"right"/"left" are the performer's, who faces the camera, so the right arm appears on the image's left.
Clockwise is as the camera sees it. Every sample draws its own position, scale, tempo, amplitude, phase,
background texture and drift, body sway, sensor noise rate and thresholds, and lasts 1–6 s, so the classes
overlap in appearance and must be told apart by their motion.
"""

from __future__ import annotations

import numpy as np
from scipy.ndimage import gaussian_filter

from sast_live.formats.dvs_gesture import GESTURE_CLASSES
from sast_live.synthetic.dvs_sim import DVSConfig, simulate
from sast_live.synthetic.render import render_capsules

SENSOR = (128, 128)
CLASSES = GESTURE_CLASSES
FRAME_US = 4000  # 250 Hz frames; the pixel model interpolates in between
RIGHT, LEFT = -1.0, 1.0  # image-x direction of each of the performer's arms


def _ik_elbow(shoulder, hand, l1, l2, side):
    """Elbow position for a 2-link arm reaching ``hand`` (clamped to reach), bent away from the body."""
    d = hand - shoulder
    dist = np.clip(np.hypot(*d), 1e-6, l1 + l2 - 1e-3)
    hand = shoulder + d / max(np.hypot(*d), 1e-6) * dist
    a = (l1 * l1 - l2 * l2 + dist * dist) / (2 * dist)
    hgt = np.sqrt(max(l1 * l1 - a * a, 0.0))
    base = shoulder + a * (hand - shoulder) / dist
    perp = np.array([-(hand - shoulder)[1], (hand - shoulder)[0]]) / dist
    if perp[0] * side < 0:  # choose the solution on the outer side of the body
        perp = -perp
    return base + hgt * perp, hand


def hand_targets(cls: int, t: float, p: dict) -> tuple[np.ndarray, np.ndarray]:
    """Image positions of the right and left hands at time ``t`` (s) for class ``cls``."""
    sh = {RIGHT: p["shoulder_r"], LEFT: p["shoulder_l"]}
    reach, s, a = p["reach"], p["scale"], p["amp"]
    phi = 2 * np.pi * t / p["period"] + p["phase"]
    rest = {side: sh[side] + np.array([side * 6 * s, 0.92 * reach]) for side in (RIGHT, LEFT)}
    hands = dict(rest)
    chest_y = sh[RIGHT][1] + 0.45 * reach
    cx = p["cx"]
    if cls == 0:  # hand clap: hands meet in front of the chest and part again
        gap = 2 * s + a * 14 * s * (1 + np.cos(phi)) / 2
        for side in (RIGHT, LEFT):
            hands[side] = np.array([cx + side * gap, chest_y])
    elif cls in (1, 2):  # hand wave above the shoulder
        side = RIGHT if cls == 1 else LEFT
        hands[side] = sh[side] + np.array([side * 0.35 * reach + a * 0.25 * reach * np.sin(phi), -0.75 * reach])
    elif cls in (3, 4, 5, 6):  # whole-arm circles around the shoulder
        side = RIGHT if cls in (3, 4) else LEFT
        direction = 1.0 if cls in (3, 5) else -1.0  # +angle is clockwise in image coordinates (y down)
        ang = p["phase"] + direction * 2 * np.pi * t / p["period"]
        rad = (0.75 + 0.2 * min(a, 1.2)) * reach
        hands[side] = sh[side] + rad * np.array([np.cos(ang), np.sin(ang)])
    elif cls == 7:  # arm roll: both hands circle one centre in front of the chest, half a turn apart
        centre = np.array([cx, chest_y + 4 * s])
        rad = a * 7 * s
        for side, off in ((RIGHT, 0.0), (LEFT, np.pi)):
            hands[side] = centre + rad * np.array([np.cos(phi + off), np.sin(phi + off)]) + [side * 4 * s, 0]
    elif cls == 8:  # air drums: hands beat up and down alternately
        for side, off in ((RIGHT, 0.0), (LEFT, np.pi)):
            beat = np.abs(np.sin(phi / 2 + off / 2))
            hands[side] = np.array([cx + side * 14 * s, chest_y + 6 * s - a * 12 * s * beat])
    elif cls == 9:  # air guitar: left hand holds the neck out to the side, right hand strums at the hip
        hands[LEFT] = sh[LEFT] + np.array([0.8 * reach, 0.35 * reach + 1.5 * s * np.sin(3 * phi)])
        hands[RIGHT] = np.array([cx + RIGHT * 4 * s, chest_y + 0.45 * reach + a * 7 * s * np.sin(2 * phi)])
    else:  # other gestures: smooth random hand paths (sums of two random sinusoids per coordinate)
        for side in (RIGHT, LEFT):
            f, ph, amp = p["other"][side]
            wave = amp * np.sin(2 * np.pi * f * t + ph)  # four sinusoids: two per coordinate
            off = np.array([wave[0] + wave[1], wave[2] + wave[3]])
            hands[side] = sh[side] + np.array([side * 0.3 * reach, 0.4 * reach]) + off * reach
    return hands[RIGHT], hands[LEFT]


def sample_params(cls: int, rng: np.random.Generator) -> dict:
    """Per-sample variation: position, scale, tempo, amplitude, phase, sway, background, noise, duration."""
    scale = rng.uniform(0.75, 1.15)
    cx, sy = rng.uniform(50, 78), rng.uniform(42, 58)
    p = {
        "cls": cls,
        "scale": scale,
        "cx": cx,
        "shoulder_y": sy,
        "reach": 40 * scale,
        "period": rng.uniform(0.5, 1.2) * (0.6 if cls in (0, 8, 9) else 1.0),
        "amp": rng.uniform(0.7, 1.3),
        "phase": rng.uniform(0, 2 * np.pi),
        "sway": rng.uniform(0, 3) * scale,
        "sway_hz": rng.uniform(0.1, 0.5),
        "bg_velocity": rng.uniform(-25, 25, 2),  # px/s drift of the background texture
        "bg_contrast": rng.uniform(0.02, 0.12),
        "noise_hz": rng.uniform(0.02, 0.5),
        "threshold": rng.uniform(0.2, 0.3),
        "duration_s": rng.uniform(1.0, 6.0),
        "other": {side: (rng.uniform(0.3, 1.5, 4), rng.uniform(0, 2 * np.pi, 4), rng.uniform(0.05, 0.3, 4))
                  for side in (RIGHT, LEFT)},
        "texture_seed": int(rng.integers(2**31)),
    }
    return p


def _figure(p: dict, t: float) -> np.ndarray:
    s = p["scale"]
    dx = p["sway"] * np.sin(2 * np.pi * p["sway_hz"] * t)
    cx, sy = p["cx"] + dx, p["shoulder_y"]
    p = dict(p, cx=cx, shoulder_r=np.array([cx + RIGHT * 11 * s, sy]), shoulder_l=np.array([cx + LEFT * 11 * s, sy]))
    hand_r, hand_l = hand_targets(p["cls"], t, p)
    caps = [
        [cx, sy - 15 * s, cx, sy - 15 * s, 7 * s],  # head
        [cx, sy + 2 * s, cx, sy + 38 * s, 10 * s],  # torso
    ]
    for side, hand in ((RIGHT, hand_r), (LEFT, hand_l)):
        shoulder = p["shoulder_r"] if side == RIGHT else p["shoulder_l"]
        elbow, hand = _ik_elbow(shoulder, hand, 21 * s, 20 * s, side)
        caps.append([*shoulder, *elbow, 3.5 * s])
        caps.append([*elbow, *hand, 3.0 * s])
        caps.append([*hand, *hand, 4.0 * s])
    return np.asarray(caps, np.float64)


def _texture(p: dict) -> np.ndarray:
    rng = np.random.default_rng(p["texture_seed"])
    tex = gaussian_filter(rng.standard_normal((256, 256)), 4.0)
    tex = tex / (np.abs(tex).max() + 1e-9)
    return 0.25 + p["bg_contrast"] * tex


def render_frames(p: dict, times_s: np.ndarray) -> np.ndarray:
    """Intensity frames (T, 128, 128) of one sample at ``times_s``."""
    tex = _texture(p)
    frames = np.empty((len(times_s), *SENSOR[::-1]))
    for k, t in enumerate(times_s):
        ox, oy = (64 + p["bg_velocity"] * t) % 128
        bg = tex[int(oy) : int(oy) + 128, int(ox) : int(ox) + 128]
        render_capsules(_figure(p, float(t)), 0.85, np.ascontiguousarray(bg), frames[k])
    return frames


def make_sample(cls: int, seed: int, duration_s: float | None = None) -> np.ndarray:
    """One synthetic gesture recording (EVENT_DTYPE, t from 0 µs) of class ``cls`` (0–10)."""
    rng = np.random.default_rng(seed)
    p = sample_params(cls, rng)
    duration = p["duration_s"] if duration_s is None else float(duration_s)
    times = np.arange(0, int(duration * 1e6) + 1, FRAME_US, dtype=np.int64)
    frames = render_frames(p, times * 1e-6)
    cfg = DVSConfig(threshold=p["threshold"], mismatch=0.04, refractory_us=500, noise_hz=p["noise_hz"])
    events, _ = simulate(frames, times, cfg, seed=seed)
    return events
