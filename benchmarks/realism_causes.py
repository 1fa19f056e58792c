"""Why synthetic gestures spread their events over more pixels than real DVS128 footage of people: each part of the
synthetic room switched off in turn.

gestures-v3 recordings of the held-out test subjects (``--per-class`` of each of the 11 gestures), seen by the
``dvs128`` profile as ``data realism`` sees them, are rendered again with one thing changed — the mount jitter, the
flicker of the light, the things moving behind, the person's sway, the profile's background activity (at 0.1 Hz a
pixel, or none) and hot pixels — and the median ``share_90`` (the share of the pixels holding 90 % of the events)
and ``pixels_ge_1hz`` are printed beside what issue 29's review measured on real DVS128 footage (0.12–0.13 and
0.07–0.21). The README's realism paragraph quotes this run (2 per class: about 4 min on 2 cores)::

    .venv/bin/python benchmarks/realism_causes.py --per-class 2
"""

from __future__ import annotations

import argparse
from dataclasses import replace

import numpy as np
from tqdm import tqdm

from sast_live.recording_stats import recording_stats
from sast_live.synthetic import people_v3
from sast_live.synthetic.sensor_profiles import PROFILES
from training.data.realism import DVS128_REVIEW
from training.data.synth import person_and_light


def _no_jitter(p):
    p["jitter"] = (0.0, *p["jitter"][1:])


def _no_flicker(p):
    p["flicker"] = 0.0


def _no_behind(p):
    p["behind"] = []


def _no_sway(p):
    p["sway"] = 0.0


def _no_scene_noise(p):
    p["noise_hz"] = 0.0


#: name → (change to the recording's parameters, sensor profile)
DVS128 = PROFILES["dvs128"]
VARIANTS = {
    "as data realism renders it": (None, DVS128),
    "no mount jitter": (_no_jitter, DVS128),
    "no flicker": (_no_flicker, DVS128),
    "nothing behind": (_no_behind, DVS128),
    "no sway": (_no_sway, DVS128),
    "background 0.1 Hz (profile 0.3)": (None, replace(DVS128, ba_hz=0.1)),
    "no hot pixels": (None, replace(DVS128, hot_share=0.0)),
    "no background, no hot pixels": (None, replace(DVS128, ba_hz=0.0, hot_share=0.0)),
    "none of the above": (lambda p: [f(p) for f in (_no_jitter, _no_flicker, _no_behind, _no_sway,
                                                    _no_scene_noise)],
                          replace(DVS128, ba_hz=0.0, hot_share=0.0)),
}


def measure(per_class: int) -> dict[str, np.ndarray]:
    """``variant → (recordings, 3)`` array of share_90, pixels_ge_1hz and events per second (a recording left with
    no event has NaN statistics and 0 events/s)."""
    original = people_v3.sample_params
    out = {name: [] for name in VARIANTS}
    jobs = [(c, i) for c in range(len(people_v3.CLASSES) - 1) for i in range(per_class)]  # the 11 gestures
    try:
        for c, i in tqdm(jobs, desc="recordings"):
            sid, light = person_and_light("test", c, i)
            for name, (change, profile) in VARIANTS.items():
                def params(cls, person, lighting, rng, change=change):
                    p = original(cls, person, lighting, rng)
                    if change is not None:
                        change(p)
                    return p

                people_v3.sample_params = params
                ev = people_v3.make_sample(c, 37 * c + i, people_v3.subject(sid), light, sensor=profile)
                if not len(ev):  # everything that moves switched off: a scene with no change at all
                    out[name].append((np.nan, np.nan, 0.0))
                    continue
                s = recording_stats(ev, (128, 128))
                out[name].append((s["share_90"], s["pixels_ge_1hz"], s["events_per_s"]))
    finally:
        people_v3.sample_params = original
    return {k: np.asarray(v) for k, v in out.items()}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--per-class", type=int, default=2, help="recordings per gesture (default 2)")
    args = ap.parse_args()
    if args.per_class < 1:
        raise SystemExit("--per-class must be at least 1")
    rows = measure(args.per_class)
    lo, hi = DVS128_REVIEW["share_90"]
    plo, phi = DVS128_REVIEW["pixels_ge_1hz"]
    print(f"| gestures-v3 by the dvs128 profile ({len(next(iter(rows.values())))} recordings) | share_90, median "
          f"(min–max) | pixels ≥ 1 Hz, median | events/s, median | recordings with no event |")
    print("|---|---|---|---|---|")
    for name, a in rows.items():
        some = a[~np.isnan(a[:, 0])]
        print(f"| {name} | {np.median(some[:, 0]):.3f} ({some[:, 0].min():.3f}–{some[:, 0].max():.3f}) | "
              f"{np.median(some[:, 1]):.3f} | {np.median(a[:, 2]):,.0f} | {len(a) - len(some)} |")
    print(f"| real DVS128 footage of people (issue 29's review) | {lo}–{hi} | {plo}–{phi} | | |")


if __name__ == "__main__":
    main()
