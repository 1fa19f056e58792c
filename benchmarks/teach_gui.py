"""Teaching in the real window, driven as a user would, timed, with a screenshot of each step; then the taught model
checked live at 1× against a labelled recording.

    xvfb-run -a -s "-screen 0 1600x1000x24" python benchmarks/teach_gui.py [--takes 10] [--shots docs/teach]

For each new motion in turn (``--motions``, default push_both_hands, raise_both_arms, punch_right — none of the 11
classes), each taught from the model the previous one produced: the window plays the stand-in person performing it
(``synthetic:people:MOTION``, held-out test subject 23, at 1×); the Teach panel gets the folder and the class name;
each take is the Record button held down for ``--seconds`` and let go (what the source sent meanwhile); then
"Teach" (``train --init-from`` the current model: the readout refitted on the sensor's features, in a background
process) until the new model runs in the window. Then the try-it check: a recording of the same person, rendered
before the clock starts (the motion, hand clap, standing still, the motion, right hand wave; a seed no take used),
played in the window at 1×, and its windows scored against its labels as ``replay --score`` scores them: the share
of windows inside the new motion that name it, inside the old gestures that name them, in the pause that say no
gesture. Printed (and ``--json``) per motion: the time from the first take to the last take stored, the teaching's
time, the time from the first take to the taught model running, the try-it figures, and what the panel reports
(held-out takes, the old classes on the feature bank's test windows before and after). Runs offscreen too
(``QT_QPA_PLATFORM=offscreen``); nothing is asserted. About 4 min on 2 cores.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

MOTIONS = ("push_both_hands", "raise_both_arms", "punch_right")


def try_it_recording(motion: str, folder: Path) -> tuple[Path, list]:
    """The stand-in person: the motion, hand clap, standing still, the motion, right hand wave (3 s each); an EVT3
    file and its labels ``[(motion name, start, end)]`` (standing still is the pause, unlabelled)."""
    from sast_live.formats.evt3 import write_evt3
    from sast_live.synthetic import people

    person = people.subject(people.TEST_SUBJECTS[0])
    script = [(people.MOTIONS[m], 3.0, "led") for m in (motion, "hand_clap", people.NO_GESTURE, motion,
                                                         "right_hand_wave")]
    events, spans = people.make_sequence(person, script, seed=777)
    path = folder / f"try-{motion}.raw"
    write_evt3(path, events, people.SENSOR)
    names = people.MOTION_NAMES
    return path, [(names[c], a, b) for c, a, b in spans if names[c] != people.NO_GESTURE]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--motions", nargs="+", default=list(MOTIONS))
    ap.add_argument("--takes", type=int, default=10)
    ap.add_argument("--seconds", type=float, default=2.0, help="how long each take is held (s)")
    ap.add_argument("--folder", help="working folder: the takes (FOLDER/takes), the try-it recordings and the "
                    "taught models (default: a new temporary one)")
    ap.add_argument("--shots", help="folder for the screenshots of each step")
    ap.add_argument("--json", action="store_true", help="print the figures as one JSON line")
    args = ap.parse_args(argv)


    from PyQt6 import QtCore, QtTest, QtWidgets

    from sast_live.gui.window import MainWindow
    from sast_live.scoring import score_recording
    from sast_live.session import Session
    from sast_live.takes import TakeSet

    app = QtWidgets.QApplication(sys.argv[:1])
    root = Path(args.folder or tempfile.mkdtemp(prefix="sast-teach-"))
    root.mkdir(parents=True, exist_ok=True)
    folder = root / "takes"
    shots = Path(args.shots) if args.shots else None
    if shots:
        shots.mkdir(parents=True, exist_ok=True)

    def spin(seconds: float, until=lambda: False) -> None:
        end = time.monotonic() + seconds
        while time.monotonic() < end and not until():
            app.processEvents()
            time.sleep(0.01)

    def shot(name: str) -> None:
        if shots:
            app.processEvents()
            win.grab().save(str(shots / f"{name}.png"))

    session = Session()
    win = MainWindow(session)
    win.resize(1560, 960)
    win.show()
    panel = win.teach
    panel.show()
    results = []
    tries = {motion: try_it_recording(motion, root) for motion in args.motions}  # rendered before any clock starts
    for step, motion in enumerate(args.motions):
        session.open(f"synthetic:people:{motion}")
        if panel.takes is None:
            panel.set_folder(folder)
        panel.label.setEditText(motion)
        panel.hold.setChecked(True)
        spin(3)
        shot(f"{step}-1-new-class")
        t_first = time.monotonic()
        k, refused = 0, []
        while k < args.takes and len(refused) < args.takes:
            QtTest.QTest.mousePress(panel.record, QtCore.Qt.MouseButton.LeftButton)
            spin(args.seconds)
            if k == 0:
                shot(f"{step}-2-recording")
            QtTest.QTest.mouseRelease(panel.record, QtCore.Qt.MouseButton.LeftButton)
            spin(30, until=lambda k=k, m=motion: not panel.holding and (
                sum(TakeSet.open(folder).counts().get(m, {}).values()) > k or
                panel.state.text().startswith(("not stored", "not recorded"))))
            if sum(TakeSet.open(folder).counts().get(motion, {}).values()) > k:
                k += 1
            else:  # the panel said why (an empty take, …): the user reads it and holds the button again
                refused.append(panel.state.text())
            spin(0.3)  # the user gets ready for the next take
        t_takes = time.monotonic()
        shot(f"{step}-3-takes")
        panel.tune.click()
        spin(120, until=lambda: panel.progress.maximum() > 1)
        shot(f"{step}-4-teaching")
        model = str(panel.run_dir / "model")
        spin(900, until=lambda: panel.tune.isEnabled() and "loading" not in panel.state.text())
        t_done = time.monotonic()
        running = session.options.model == model and motion in session.backend.classes
        said = panel.state.text()
        # try it: the labelled recording of the same person at 1×, scored as `replay --score` scores it
        path, named = tries[motion]
        labels = [(list(session.backend.classes).index(name), a, b) for name, a, b in named]
        session.open(str(path))
        spin(max(b for _, _, b in named) / 1e6 + 2.0)  # the whole recording at 1×
        shot(f"{step}-5-try-it")
        score = score_recording(list(session.window_log), labels, session.backend.classes)
        k_new = list(session.backend.classes).index(motion)
        new = [g for g in score["gestures"] if g["class"] == k_new]
        old = [g for g in score["gestures"] if g["class"] != k_new]
        summary = json.loads((panel.run_dir / "finetune.json").read_text())
        results.append({
            "motion": motion, "takes": args.takes, "take_s": args.seconds,
            "recording_s": round(t_takes - t_first, 1), "teaching_s": round(t_done - t_takes, 1),
            "first_take_to_model_running_s": round(t_done - t_first, 1), "model_running": running,
            "classes": len(session.backend.classes), "takes_refused": refused,
            "try_it_new_windows": f"{sum(g['correct'] for g in new)}/{sum(g['windows'] for g in new)}",
            "try_it_new_share": sum(g["correct"] for g in new) / max(1, sum(g["windows"] for g in new)),
            "try_it_old_windows": f"{sum(g['correct'] for g in old)}/{sum(g['windows'] for g in old)}",
            "try_it_pause_no_gesture": score["pause_no_gesture"],
            "old_classes_bank": summary.get("old_classes"), "held_out_takes": summary.get("held_out_takes_streaming"),
            "teach_steps_s": summary.get("seconds"), "panel_says": said})
    win.close()
    if args.json:
        print(json.dumps(results))
    else:
        for r in results:
            print(f"--- {r['motion']}")
            for k, v in r.items():
                print(f"{k}: {v}")
    return 0 if all(r["model_running"] for r in results) else 1


if __name__ == "__main__":
    raise SystemExit(main())
