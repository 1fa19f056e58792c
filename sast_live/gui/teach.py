"""The teach panel: record labelled takes of a gesture from the current source, look after them, teach the model.

The takes go into a folder of :mod:`sast_live.takes` (the layout ``record --label --dataset`` writes). A take is
what the source sends while the Record button or the T key is held down (:meth:`Session.start_take`, ended by
:meth:`Session.stop_take` on release; at most :data:`MAX_HOLD_S`), or, with "hold to record" off, the next N seconds
after a countdown. "Teach" runs ``main.py train --init-from MODEL --dataset FOLDER`` in a background process
(:class:`QtCore.QProcess`): the readout refitted on the sensor's own features (:mod:`training.teach`, seconds), its
steps in the progress bar; the result is loaded into the session when it ends. While it runs the panel says so
(:attr:`TeachPanel.tuning`) and the window holds the source still, so the work has both CPU cores.
"""

from __future__ import annotations

import re
import sys
import time
from pathlib import Path

from PyQt6 import QtCore, QtWidgets

from sast_live.errors import SastLiveError
from sast_live.pipeline.backends import DEFAULT_MODEL

REPO = Path(__file__).resolve().parents[2]
#: the "Try it" check: what the user is asked to do, for how long each (s), and the first part of each prompt that
#: is not scored (the user reacts; the streaming window still holds what came before)
TRY_S, TRY_GRACE_S = 5.0, 1.5
_STEP = re.compile(r"(?:epoch|step) (\d+)/(\d+)")  # a full fine-tuning's epochs, teaching's steps
#: the longest a held take lasts (a key held by mistake does not record forever)
MAX_HOLD_S = 30.0


class TeachPanel(QtWidgets.QDockWidget):
    took = QtCore.pyqtSignal(object, object)  # (take, error) from the reader thread, handled on the GUI thread
    tuning = QtCore.pyqtSignal(bool)  # True when a fine-tuning starts, False when its model is in (or it failed)

    def __init__(self, session, parent=None):
        super().__init__("Teach a gesture", parent)
        self.session, self.takes, self.countdown_s = session, None, 3
        self.process: QtCore.QProcess | None = None
        self.output = ""
        self.run_dir: Path | None = None
        body = QtWidgets.QWidget()
        form = QtWidgets.QFormLayout(body)
        row = QtWidgets.QHBoxLayout()
        self.folder = QtWidgets.QLabel("(choose a folder)")
        choose = QtWidgets.QPushButton("Folder…")
        choose.clicked.connect(self.choose_folder)
        row.addWidget(self.folder, 1)
        row.addWidget(choose)
        form.addRow("takes in", row)
        self.label = QtWidgets.QComboBox()
        self.label.setEditable(True)
        self.label.setToolTip("one of the model's classes, or type a new name (letters, digits, _ and -)")
        self.label.addItems(self.session.backend.classes)
        form.addRow("class", self.label)
        self.taught = QtWidgets.QLabel("")
        self.taught.setWordWrap(True)
        self.taught.setToolTip("what the running model was taught, and from how many takes (`main.py info MODEL`)")
        form.addRow("taught", self.taught)
        self.show_taught()
        self.seconds = QtWidgets.QDoubleSpinBox()
        self.seconds.setRange(0.5, 10.0)
        self.seconds.setSingleStep(0.5)
        self.seconds.setValue(2.0)
        self.seconds.setSuffix(" s")
        form.addRow("take length", self.seconds)
        self.hold = QtWidgets.QCheckBox("hold to record (button or T); off: a countdown, then the take length")
        self.hold.setChecked(True)
        form.addRow(self.hold)
        self.record = QtWidgets.QPushButton("Record take  (hold, or hold T)")
        self.record.setToolTip("hold down to record a take of the class above; let go to store it")
        self.record.pressed.connect(self._press)
        self.record.released.connect(self._release)
        self.record.clicked.connect(self._click)
        self.holding = False
        form.addRow(self.record)
        self.list = QtWidgets.QTreeWidget()
        self.list.setHeaderLabels(["take", "split"])
        self.list.setColumnWidth(0, 190)
        self.list.setMinimumHeight(140)
        form.addRow(self.list)
        buttons = QtWidgets.QHBoxLayout()
        for text, slot in (("Replay", self.replay_selected), ("Delete", self.delete_selected)):
            b = QtWidgets.QPushButton(text)
            b.clicked.connect(slot)
            buttons.addWidget(b)
        form.addRow(buttons)
        self.tune = QtWidgets.QPushButton("Teach")
        self.tune.setToolTip("refit the model's readout on the takes (the sensor's features stay as they are): "
                             "seconds, nothing generated; the old classes are kept by the model's feature bank")
        self.tune.clicked.connect(self.fine_tune)
        self.forget = QtWidgets.QPushButton("Forget class")
        self.forget.setToolTip("remove the class in the class box from the running model (one it was taught): its "
                               "readout row and its takes in the feature bank go, the rest is refitted")
        self.forget.clicked.connect(self.forget_class)
        buttons2 = QtWidgets.QHBoxLayout()
        buttons2.addWidget(self.tune, 2)
        buttons2.addWidget(self.forget, 1)
        form.addRow(buttons2)
        self.try_btn = QtWidgets.QPushButton("Try it")
        self.try_btn.setToolTip("the panel asks for the taught gesture, an old one and nothing, a few seconds each, "
                                "and scores what the model says meanwhile")
        self.try_btn.clicked.connect(self.try_it)
        form.addRow(self.try_btn)
        self.try_plan: list[tuple[str, float, float]] = []  # (what, start, end) on the monotonic clock
        self.try_seen: list[tuple[float, int]] = []  # (when, class index) of each new window
        self.try_result: dict | None = None
        self._try_timer = QtCore.QTimer(self)
        self._try_timer.setInterval(50)
        self._try_timer.timeout.connect(self._try_tick)
        self.progress = QtWidgets.QProgressBar()
        self.progress.setRange(0, 1)
        self.progress.setValue(0)
        form.addRow(self.progress)
        self.state = QtWidgets.QLabel("")
        self.state.setWordWrap(True)
        form.addRow(self.state)
        self.setWidget(body)
        self.took.connect(self._took)
        QtWidgets.QApplication.instance().installEventFilter(self)

    # -- hold to record ---------------------------------------------------------------------------------------
    def eventFilter(self, obj, event) -> bool:  # noqa: N802 (Qt's name)
        """T held down records a take while this panel is shown (not while a text field has the keyboard)."""
        kind = event.type()
        if kind not in (QtCore.QEvent.Type.KeyPress, QtCore.QEvent.Type.KeyRelease) or not self.isVisible():
            return False
        if event.key() != QtCore.Qt.Key.Key_T or event.modifiers() & ~QtCore.Qt.KeyboardModifier.KeypadModifier:
            return False
        focus = QtWidgets.QApplication.focusWidget()
        if isinstance(focus, QtWidgets.QLineEdit | QtWidgets.QAbstractSpinBox | QtWidgets.QTextEdit):
            return False
        if event.isAutoRepeat():
            return True
        if kind == QtCore.QEvent.Type.KeyPress:
            self._press() if self.hold.isChecked() else self.record_take()
        else:
            self._release()
        return True

    def _press(self) -> None:
        if self.hold.isChecked() and not self.holding and self.record.isEnabled():
            self.start_hold()

    def _release(self) -> None:
        if self.holding:
            self.holding = False
            self.session.stop_take()

    def _click(self) -> None:
        if not self.hold.isChecked():
            self.record_take()

    def start_hold(self) -> None:
        """Start a take that lasts until the button or key is let go (at most :data:`MAX_HOLD_S`)."""
        name = self.take_name()
        if name is None:
            return
        try:
            self.session.start_take(self.takes, name, MAX_HOLD_S, done=self.took.emit)
        except SastLiveError as exc:
            self.state.setText(f"not recorded: {exc}")
            return
        self.holding = True
        self.state.setText(f"recording a take of {name}… (let go to store it)")

    # -- takes ----------------------------------------------------------------------------------------------
    def choose_folder(self) -> None:
        path = QtWidgets.QFileDialog.getExistingDirectory(self, "Folder of takes (new or existing)")
        if path:
            self.set_folder(path)

    def set_folder(self, path) -> None:
        """Use the takes in ``path`` (made with the current model's classes when new)."""
        from sast_live.takes import TakeSet

        try:
            if self.session.source is None:
                raise SastLiveError("open a source first (its sensor size is the takes')")
            self.takes = TakeSet.open_or_create(path, tuple(self.session.source.sensor_size),
                                                self.session.backend.classes,
                                                str(self.session.options.model or DEFAULT_MODEL))
        except SastLiveError as exc:
            QtWidgets.QMessageBox.warning(self, "Folder of takes", str(exc))
            return
        self.folder.setText(str(path))
        for name in self.takes.classes:
            if self.label.findText(name) < 0:
                self.label.addItem(name)
        self.refresh_list()

    def refresh_list(self) -> None:
        self.list.clear()
        if self.takes is None:
            return
        counts = self.takes.counts()
        groups = {}
        for name, c in counts.items():
            if c["train"] or c["test"]:
                groups[name] = QtWidgets.QTreeWidgetItem([f"{name} ({c['train'] + c['test']})", ""])
                self.list.addTopLevelItem(groups[name])
        for take in self.takes.takes():
            item = QtWidgets.QTreeWidgetItem([f"{take.index:05d}", take.split])
            item.setData(0, QtCore.Qt.ItemDataRole.UserRole, take)
            groups[take.name].addChild(item)
        self.list.expandAll()

    def take_name(self) -> str | None:
        """The class a take is about to be recorded for, once a folder of takes is chosen (asked for if none is);
        None when the user chose none."""
        if self.takes is None:
            self.choose_folder()
            if self.takes is None:
                return None
        return self.label.currentText().strip()

    def record_take(self) -> None:
        name = self.take_name()
        if name is None:
            return
        self.record.setEnabled(False)
        self._count(name, self.countdown_s)

    def _count(self, name: str, left: int) -> None:
        if left > 0:
            self.state.setText(f"take of {name}: starts in {left} s")
            QtCore.QTimer.singleShot(1000, lambda: self._count(name, left - 1))
            return
        try:
            self.session.start_take(self.takes, name, self.seconds.value(), done=self.took.emit)
            self.state.setText(f"recording a take of {name} ({self.seconds.value():g} s)…")
        except SastLiveError as exc:  # said in the panel, where the user looks while recording (no modal box)
            self.record.setEnabled(True)
            self.state.setText(f"not recorded: {exc}")

    def _took(self, take, error) -> None:
        self.record.setEnabled(True)
        self.holding = False
        if error:
            self.state.setText(f"not stored: {error}")
            return
        self.state.setText(f"stored {take.path.name} of {take.name} ({take.split})")
        if self.label.findText(take.name) < 0:
            self.label.addItem(take.name)
        self.refresh_list()

    def selected(self):
        items = self.list.selectedItems()
        return items[0].data(0, QtCore.Qt.ItemDataRole.UserRole) if items else None

    def replay_selected(self) -> None:
        take = self.selected()
        if take is not None:
            self.session.open(str(take.path))

    def delete_selected(self) -> None:
        take = self.selected()
        if take is not None and self.takes is not None:
            self.takes.delete(take)
            self.refresh_list()

    # -- teaching ---------------------------------------------------------------------------------------------
    def finetune_command(self) -> list[str]:
        """The command "Teach" runs: the current model, the takes, a new run folder beside the takes."""
        if self.takes is None:
            raise SastLiveError("choose a folder of takes first")
        model = self.session.options.model or str(DEFAULT_MODEL)
        self.run_dir = self.takes.root / "runs" / time.strftime("%Y%m%d-%H%M%S")
        return [sys.executable, str(REPO / "main.py"), "train", "--init-from", str(model), "--dataset",
                str(self.takes.root), "--out", str(self.run_dir)]

    def fine_tune(self) -> None:
        try:
            cmd = self.finetune_command()
        except SastLiveError as exc:
            QtWidgets.QMessageBox.warning(self, "Teach", str(exc))
            return
        self._start(cmd, f"teaching into {self.run_dir}…")

    def forget_command(self, name: str) -> list[str]:
        """The command "Forget class" runs: the running model without taught class ``name``, into a new run folder
        beside the takes (or beside the model when no folder is chosen)."""
        model, history = self.running_taught()
        taught = [h["class"] for h in history]
        if name not in taught:
            raise SastLiveError(f"{name!r} is not a class the running model was taught"
                                + (f" (taught: {', '.join(taught)})" if taught else " (it was taught none)"))
        root = self.takes.root if self.takes is not None else Path(model).parent
        self.run_dir = root / "runs" / time.strftime("%Y%m%d-%H%M%S-forget")
        return [sys.executable, str(REPO / "main.py"), "forget", str(model), name, "--out", str(self.run_dir)]

    def forget_class(self) -> None:
        """Remove the class in the class box from the running model (a taught one), then load the result."""
        name = self.label.currentText().strip()
        try:
            cmd = self.forget_command(name)
        except SastLiveError as exc:
            self.state.setText(f"not forgotten: {exc}")
            return
        self._start(cmd, f"removing {name} into {self.run_dir}…", "removing it")

    def _start(self, cmd: list[str], saying: str, doing: str = "teaching") -> None:
        """Run ``cmd`` (teach or forget) in a background process; its model is loaded when it ends."""
        self.output, self.doing = "", doing
        self.process = QtCore.QProcess(self)
        self.process.setProcessChannelMode(QtCore.QProcess.ProcessChannelMode.MergedChannels)
        self.process.readyReadStandardOutput.connect(self._progress)
        self.process.finished.connect(self._finished)
        self.tune.setEnabled(False)
        self.forget.setEnabled(False)
        self.progress.setRange(0, 0)  # busy until the first step is reported
        self.state.setText(saying)
        self.tuning.emit(True)
        self.process.start(cmd[0], cmd[1:])

    def _progress(self) -> None:
        text = bytes(self.process.readAllStandardOutput()).decode(errors="replace")
        self.output = (self.output + text)[-4000:]  # the tail, for the reason of a failure
        found = _STEP.findall(text)
        if found:
            done, total = map(int, found[-1])
            self.progress.setRange(0, total)
            self.progress.setValue(done - 1 if "step" in text else done)  # a step is reported as it begins
        lines = [ln for ln in text.replace("\r", "\n").splitlines() if ln.strip()]
        said = [ln.strip() for ln in lines if ln.startswith("step ") or "held-out" in ln or "error" in ln]
        if said:
            self.state.setText(said[-1])

    def _finished(self, code: int, _status=None) -> None:
        self.tune.setEnabled(True)
        self.forget.setEnabled(True)
        self.progress.setRange(0, 1)
        self.progress.setValue(1 if code == 0 else 0)
        if code != 0:
            lines = [ln.strip() for ln in self.output.replace("\r", "\n").splitlines() if ln.strip()]
            why = next((ln for ln in reversed(lines) if ln.startswith("error")), lines[-1] if lines else "")
            self.state.setText(f"{self.doing} failed: {why}")
            self.tuning.emit(False)
            return
        self.load_result(self.run_dir / "model")

    def load_result(self, model: Path) -> None:
        """Put the taught model into the session (its classes into the prediction panel)."""
        self.state.setText(f"loading {model}…")
        self.session.set_model(str(model), self.session.options.precision, done=self._loaded_elsewhere)

    def _loaded_elsewhere(self, error) -> None:  # on a worker thread: the window refreshes the panel
        QtCore.QMetaObject.invokeMethod(self, "_loaded", QtCore.Qt.ConnectionType.QueuedConnection)

    # -- try it ---------------------------------------------------------------------------------------------
    def try_plan_for(self) -> list[str]:
        """What "Try it" asks for: the class being taught (or the model's last), an old gesture, nothing."""
        classes = list(self.session.backend.classes)
        new = self.label.currentText().strip()
        new = new if new in classes else classes[-1]
        old = next(c for c in classes if c != new)
        return [new, old, "nothing"]

    def try_it(self) -> None:
        """Prompt the plan, TRY_S seconds each, collecting the model's windows; :meth:`_try_tick` scores at the end."""
        if self.session.runner is None:
            self.state.setText("open a source first (a camera, or the stand-in person)")
            return
        t0 = time.monotonic()
        self.try_plan = [(what, t0 + k * TRY_S, t0 + (k + 1) * TRY_S) for k, what in enumerate(self.try_plan_for())]
        snap = self.session.latest()
        self._try_count = snap.windows if snap is not None else 0
        self.try_seen, self.try_result = [], None
        self.try_btn.setEnabled(False)
        self._try_timer.start()
        self._try_tick()  # the first prompt, now

    def _try_tick(self) -> None:
        now = time.monotonic()
        snap = self.session.latest()
        if snap is not None and snap.windows != self._try_count and snap.last_window is not None:
            self._try_count = snap.windows
            self.try_seen.append((now, snap.last_window.class_index))
        current = next((p for p in self.try_plan if p[1] <= now < p[2]), None)
        if current is not None:
            what = "stay still: nothing" if current[0] == "nothing" else f"now: {current[0]}"
            self.state.setText(f"try it — {what} ({current[2] - now:.0f} s)")
            return
        self._try_timer.stop()
        self.try_btn.setEnabled(True)
        self.try_result = score_try(self.try_plan, self.try_seen, list(self.session.backend.classes))
        self.state.setText("try it: " + "; ".join(f"{r['what']} {r['right']}/{r['windows']}"
                                                   for r in self.try_result["rows"]))

    def running_taught(self) -> tuple[str, list[dict]]:
        """The running model and what it was taught (``info``'s ``taught`` list; empty for a firmware folder or
        a model that cannot be read)."""
        from sast_live.model_info import is_model_path, model_info

        model = self.session.options.model or str(DEFAULT_MODEL)
        try:
            return model, (model_info(model).get("taught", []) if is_model_path(model) else [])
        except (SastLiveError, OSError):
            return model, []

    def show_taught(self) -> None:
        """The running model's taught classes and their takes, in the panel."""
        _, taught = self.running_taught()
        self.taught.setText(", ".join(f"{h['class']} ({h['takes']} takes)" for h in taught) or
                            "nothing yet (the classes it was trained with)")

    @QtCore.pyqtSlot()
    def _loaded(self) -> None:  # the prediction panel follows the new classes by itself (PredictionPanel)
        self.show_taught()
        self.state.setText("\n".join(filter(None, [self.session.message, self.result_summary()])))
        self.tuning.emit(False)
        for name in self.session.backend.classes:
            if self.label.findText(name) < 0:
                self.label.addItem(name)

    def result_summary(self) -> str:
        """What the finished run measured (its ``finetune.json``), in a few short lines; "" without one."""
        import json

        from sast_live.takes import FINETUNE_SUMMARY, finetune_lines

        path = self.run_dir / FINETUNE_SUMMARY if self.run_dir is not None else None
        if path is None or not path.exists():
            return ""
        return "\n".join(finetune_lines(json.loads(path.read_text())))


def score_try(plan, seen, classes) -> dict:
    """The "Try it" score: per prompt ``(what, start, end)``, the windows that arrived after its first
    :data:`TRY_GRACE_S` and by its end, and how many said what was asked ("nothing": no gesture or unfamiliar)."""
    rows = []
    for what, start, end in plan:
        got = [k for t, k in seen if start + TRY_GRACE_S <= t < end]
        right = sum(k < 0 for k in got) if what == "nothing" else sum(k == classes.index(what) for k in got)
        rows.append({"what": what, "windows": len(got), "right": right})
    return {"rows": rows}
