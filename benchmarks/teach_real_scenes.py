"""Does teaching make the model claim gestures on real scenes? Three motions taught one after the other, then the
live app over the real non-gesture scenes, with and without the taught model's unfamiliar-scene activity check.

    python benchmarks/teach_real_scenes.py [--base MODEL] [--out runs/teach-real-scenes]

The shipped model (or ``--base``) is taught push_both_hands, raise_both_arms and punch_right in a row, each from 12
takes of 2 s by training subject 4 (:func:`teach_lambda.render_takes`: 9 fit, 3 held out), as the README's teaching
figures are made. Then :func:`training.evaluation.report.live_report` (the demo; the real scenes of
``../shared/data/real`` looped to fill every window) runs on the base model and on the taught one, each as stored
and with its activity check (``decision.familiar``) removed. Only reported: nothing here chooses anything. Writes
``real-scenes.json`` and ``real-scenes.md``; about 8 min on 2 cores.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))


def without_check(checkpoint: str, folder: Path) -> str:
    """A copy of ``checkpoint`` whose decision has no activity check (the other limits kept)."""
    folder.mkdir(parents=True, exist_ok=True)
    for suffix in (".json", ".safetensors"):
        shutil.copy(Path(checkpoint).with_suffix(suffix), (folder / "model").with_suffix(suffix))
    meta = json.loads((folder / "model.json").read_text())
    meta["decision"]["familiar"] = None
    (folder / "model.json").write_text(json.dumps(meta))
    return str(folder / "model")


def live_summary(checkpoint: str) -> dict:
    from models.checkpoint.weights import load_model
    from training.evaluation.no_gesture import real_scenes_summary
    from training.evaluation.report import live_report

    model, _ = load_model(checkpoint)
    r = live_report(checkpoint, model.cfg, 0)
    scenes = {name: {k: s[k] for k in ("windows", "claims", "claims_at_80", "unfamiliar", "claimed")}
              for name, s in r["no_gesture"].items() if isinstance(s, dict) and "claims_at_80" in s}
    return {"demo": f"{r['demo']['gestures_with_majority']}/{r['demo']['n_gestures']}",
            "demo_pause_no_gesture": r["demo"]["pause_no_gesture"],
            "held_out_real": real_scenes_summary(r["no_gesture"]), "scenes": scenes}


def main(argv=None) -> int:
    from teach_lambda import FIT_SUBJECT, MOTIONS, render_takes

    from models.checkpoint.weights import load_model
    from sast_live.pipeline.backends import DEFAULT_MODEL
    from sast_live.synthetic import people
    from sast_live.takes import TakeSet
    from training.teach.readout import teach

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--base", default=str(DEFAULT_MODEL / "model"), help="the model to teach (default: the shipped)")
    ap.add_argument("--out", default="runs/teach-real-scenes")
    args = ap.parse_args(argv)
    out = Path(args.out)
    shutil.rmtree(out / "taught", ignore_errors=True)
    folder = out / "taught" / "takes"
    takes = TakeSet.open_or_create(folder, people.SENSOR, load_model(args.base)[0].cfg.classes, args.base)
    current, held = args.base, {}
    for motion in MOTIONS:
        for events in render_takes(motion, FIT_SUBJECT, 12):
            takes.add(events, motion)
        summary = teach(current, str(folder), str(out / "taught" / motion), progress=False, say=print)
        current, held = summary["model"], summary["held_out_takes_streaming"]
    rows = {"base, as shipped": args.base, "base, without its activity check": without_check(args.base, out / "b0"),
            "three motions taught": current,
            "three motions taught, without its activity check": without_check(current, out / "t0")}
    result = {"held_out_takes_streaming": held}
    for label, checkpoint in rows.items():
        print(f"live report: {label}", flush=True)
        result[label] = live_summary(checkpoint)
    (out / "real-scenes.json").write_text(json.dumps(result, indent=2))
    lines = ["| model | held-out real windows at ≥ 80 % | quiet | demo | demo pause: no gesture |",
             "|---|---|---|---|---|"]
    for label in rows:
        r = result[label]
        lines.append(f"| {label} | {r['held_out_real']['claims_at_80']} of {r['held_out_real']['windows']} | "
                     f"{r['held_out_real']['quiet_share']:.0%} | {r['demo']} | {r['demo_pause_no_gesture']:.0%} |")
    lines += ["", "Held-out takes of the taught motions (streamed windows naming them): "
              + ", ".join(f"{k} {v['naming_it']}/{v['windows']}" for k, v in held.items())]
    (out / "real-scenes.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
