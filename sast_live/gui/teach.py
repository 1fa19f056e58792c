"""The teach panel: record labelled takes of a gesture from the current source, look after them, fine-tune.

The takes go into a folder of :mod:`sast_live.takes` (the layout ``record --label --dataset`` writes); a take is
the next N seconds of the running source after a countdown (:meth:`Session.start_take`). "Fine-tune" runs
``main.py train --init-from MODEL --dataset FOLDER`` in a background process (:class:`QtCore.QProcess`), shows
its epochs in a progress bar and loads the result into the session when it ends. While it trains the panel
says so (:attr:`TeachPanel.tuning`) and the window holds the source still: the two CPU cores go to the training
(a live 1× source beside it had taken it from 4 to over 10 minutes).
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
_EPOCH = re.compile(r"epoch (\d+)/(\d+)")


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
        self.seconds = QtWidgets.QDoubleSpinBox()
        self.seconds.setRange(0.5, 10.0)
        self.seconds.setSingleStep(0.5)
        self.seconds.setValue(2.0)
        self.seconds.setSuffix(" s")
        form.addRow("take length", self.seconds)
        self.record = QtWidgets.QPushButton("Record take  (T)")
        self.record.setShortcut("T")
        self.record.clicked.connect(self.record_take)
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
        self.tune = QtWidgets.QPushButton("Fine-tune")
        self.tune.clicked.connect(self.fine_tune)
        form.addRow(self.tune)
        self.progress = QtWidgets.QProgressBar()
        self.progress.setRange(0, 1)
        self.progress.setValue(0)
        form.addRow(self.progress)
        self.state = QtWidgets.QLabel("")
        self.state.setWordWrap(True)
        form.addRow(self.state)
        self.setWidget(body)
        self.took.connect(self._took)

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

    def record_take(self) -> None:
        if self.takes is None:
            self.choose_folder()
            if self.takes is None:
                return
        name = self.label.currentText().strip()
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

    # -- fine-tuning ----------------------------------------------------------------------------------------
    def finetune_command(self) -> list[str]:
        """The command "Fine-tune" runs: the current model, the takes, a new run folder beside the takes."""
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
            QtWidgets.QMessageBox.warning(self, "Fine-tune", str(exc))
            return
        self.output = ""
        self.process = QtCore.QProcess(self)
        self.process.setProcessChannelMode(QtCore.QProcess.ProcessChannelMode.MergedChannels)
        self.process.readyReadStandardOutput.connect(self._progress)
        self.process.finished.connect(self._finished)
        self.tune.setEnabled(False)
        self.progress.setRange(0, 0)  # busy until the first epoch is reported
        self.state.setText(f"fine-tuning into {self.run_dir}…")
        self.tuning.emit(True)
        self.process.start(cmd[0], cmd[1:])

    def _progress(self) -> None:
        text = bytes(self.process.readAllStandardOutput()).decode(errors="replace")
        self.output = (self.output + text)[-4000:]  # the tail, for the reason of a failure
        found = _EPOCH.findall(text)
        if found:
            done, total = map(int, found[-1])
            self.progress.setRange(0, total)
            self.progress.setValue(done)
        lines = [ln for ln in text.replace("\r", "\n").splitlines() if ln.strip()]
        if lines and ("held-out" in lines[-1] or "error" in lines[-1]):
            self.state.setText(lines[-1].strip())

    def _finished(self, code: int, _status=None) -> None:
        self.tune.setEnabled(True)
        self.progress.setRange(0, 1)
        self.progress.setValue(1 if code == 0 else 0)
        if code != 0:
            lines = [ln.strip() for ln in self.output.replace("\r", "\n").splitlines() if ln.strip()]
            why = next((ln for ln in reversed(lines) if ln.startswith("error")), lines[-1] if lines else "")
            self.state.setText(f"fine-tuning failed: {why}")
            self.tuning.emit(False)
            return
        self.load_result(self.run_dir / "model")

    def load_result(self, model: Path) -> None:
        """Put the fine-tuned model into the session (its classes into the prediction panel)."""
        self.state.setText(f"loading {model}…")
        self.session.set_model(str(model), self.session.options.precision, done=self._loaded_elsewhere)

    def _loaded_elsewhere(self, error) -> None:  # on a worker thread: the window refreshes the panel
        QtCore.QMetaObject.invokeMethod(self, "_loaded", QtCore.Qt.ConnectionType.QueuedConnection)

    @QtCore.pyqtSlot()
    def _loaded(self) -> None:  # the prediction panel follows the new classes by itself (PredictionPanel)
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
