"""Package boundaries (DESIGN.md §2), read from the source with ``ast`` so a lazy import inside a function counts too:

* ``sast_live/`` and ``firmware_sim/`` never import ``training/``;
* ``firmware_sim/`` runs without torch and Qt: nothing it imports, directly or through other project modules,
  reaches them;
* Qt (PyQt6, pyqtgraph) only inside ``sast_live/gui/``; nothing imports ``sast_live.gui`` but the CLI;
* torch only in ``models/``, ``training/`` and the float backend of the pipeline;
* ``training/`` is grouped by job, and the jobs form layers (:data:`TRAINING_LAYERS`): a module imports its own
  job and the jobs of lower layers only, so shared helpers sit low enough for both users to reach them (an
  evaluation never reaches into the trainer, a decision never into an evaluation); and no module imports another
  job's private (``_``) names;
* ``main.py --help`` (and every subcommand's) loads neither torch, numba nor Qt.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO

PACKAGES = ("sast_live", "firmware_sim", "models", "training")
QT = ("PyQt6", "PySide6", "pyqtgraph")
TORCH_ALLOWED = ("models/", "training/", "sast_live/pipeline/backends.py")
CLI_MODULES = ("sast_live/commands.py",)  # the only place that may start the GUI
#: training's jobs, lowest layer first: ``{job: its module prefixes}`` per layer. A module imports its own job and
#: the jobs of lower layers; jobs of one layer are siblings and import nothing of each other.
TRAINING_LAYERS = (
    {"data": ("training.data",)},  # datasets, synthetic generation, frames, the validation split
    {"core": ("training.config", "training.networks", "training.inference", "training.metrics", "training.sam",
              "training.augment", "training.distributed")},  # what a run is, the network it starts from, outputs
    {"decision": ("training.decision",)},  # calibration, the streaming window: fitted on validation only
    {"trainer": ("training.train",), "evaluation": ("training.evaluation",)},
    {"finetuning": ("training.finetune",), "studies": ("training.studies",), "convex": ("training.convex",)},
    {"teaching": ("training.teach",)},  # the readout refitted on the sensor's features (the convex dictionary's sim)
    {"cli": ("training.options", "training.commands")},
)


def imported_modules(source: str) -> list[tuple[int, str]]:
    """``(line, dotted module)`` of every import in ``source``, at any depth (absolute imports only: the project
    uses no relative ones; ``from a import b`` yields ``a.b`` too, since ``b`` may be a module)."""
    out = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            out += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            assert node.level == 0, f"relative import at line {node.lineno}: the rules below read absolute names"
            out.append((node.lineno, node.module))
            out += [(node.lineno, f"{node.module}.{alias.name}") for alias in node.names]
    return out


def direct_violations(rel: str, source: str) -> list[str]:
    """The rules that one file's own imports can break (``rel`` is its path from the repository root)."""
    bad = []
    for line, mod in imported_modules(source):
        top = mod.split(".")[0]
        where = f"{rel}:{line} imports {mod}"
        if rel.startswith(("sast_live/", "firmware_sim/")) and top == "training":
            bad.append(f"{where} (sast_live and firmware_sim never import training)")
        if top in QT and not rel.startswith("sast_live/gui/"):
            bad.append(f"{where} (Qt lives only in sast_live/gui)")
        if top == "torch" and not rel.startswith(TORCH_ALLOWED):
            bad.append(f"{where} (torch only in models, training and the float backend)")
        if mod.startswith("sast_live.gui") and not rel.startswith("sast_live/gui/") and rel not in CLI_MODULES:
            bad.append(f"{where} (nothing but the CLI imports the GUI)")
    return bad


def training_job(module: str) -> tuple[str, int] | None:
    """``(job, layer)`` of a ``training`` module by the longest matching prefix in :data:`TRAINING_LAYERS`."""
    for layer, jobs in enumerate(TRAINING_LAYERS):
        for job, prefixes in jobs.items():
            if any(module == p or module.startswith(p + ".") for p in prefixes):
                return job, layer
    return None


def training_violations(module: str, source: str) -> list[str]:
    """Imports of ``training`` module ``module`` that run against the job layers or reach another job's privates."""
    here = training_job(module)
    assert here is not None, f"{module} belongs to no job of TRAINING_LAYERS"
    bad = []
    for line, mod in imported_modules(source):
        if not mod.startswith("training.") or mod == "training.__init__":
            continue
        there = training_job(mod)
        if there is None or there[0] == here[0]:
            continue
        if there[1] >= here[1]:
            bad.append(f"{module}:{line} imports {mod} (job {there[0]}, layer {there[1]}; {module} is job {here[0]}, "
                       f"layer {here[1]}: a job imports lower layers only)")
        if mod.rsplit(".", 1)[-1].startswith("_"):
            bad.append(f"{module}:{line} imports {mod}, a private name of another job")
    return bad


def project_files() -> dict[str, Path]:
    """Dotted module name → file, for every module of the four packages."""
    files = {}
    for pkg in PACKAGES:
        for path in (REPO / pkg).rglob("*.py"):
            parts = path.relative_to(REPO).with_suffix("").parts
            files[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return files


def reachable_externals(start: str, files: dict[str, Path]) -> dict[str, str]:
    """Top-level third-party packages reachable from module ``start`` through project imports; each with the
    chain of project modules that leads there (importing ``a.b.c`` runs ``a`` and ``a.b`` first)."""
    seen, found, todo = {start: start}, {}, [start]
    while todo:
        mod = todo.pop()
        for _, name in imported_modules(files[mod].read_text()):
            parts = name.split(".")
            if parts[0] not in PACKAGES:
                found.setdefault(parts[0], seen[mod])
                continue
            for k in range(1, len(parts) + 1):
                sub = ".".join(parts[:k])
                if sub in files and sub not in seen:
                    seen[sub] = f"{seen[mod]} → {sub}"
                    todo.append(sub)
    return found


def test_every_module_keeps_the_direct_rules():
    bad = []
    for path in [*(p for pkg in PACKAGES for p in (REPO / pkg).rglob("*.py"))]:
        bad += direct_violations(path.relative_to(REPO).as_posix(), path.read_text())
    assert bad == []


def test_training_jobs_import_lower_layers_only():
    bad = []
    for mod, path in project_files().items():
        if mod.startswith("training."):
            bad += training_violations(mod, path.read_text())
    assert bad == []


@pytest.mark.parametrize("module,line", [
    ("training.evaluation.report", "from training.train import predict"),  # a report reaching into the trainer
    ("training.train", "from training.evaluation.metrics import spike_stats"),  # siblings of one layer
    ("training.decision.streaming", "from training.evaluation.no_gesture import run_stream"),
    ("training.data.mixing", "def f():\n    from training.finetune import FEW_SHOT"),
    ("training.studies.sweep", "from training.convex.reconstruct import _prune"),  # a sibling's private
])
def test_the_layer_check_catches_imports_that_run_upwards(module, line):
    assert training_violations(module, line)


def test_firmware_sim_reaches_neither_torch_nor_qt():
    files = project_files()
    bad = []
    for mod in (m for m in files if m.split(".")[0] == "firmware_sim"):
        ext = reachable_externals(mod, files)
        bad += [f"{chain} imports {pkg}" for pkg, chain in ext.items() if pkg in ("torch", *QT)]
    assert bad == []


@pytest.mark.parametrize("rel,line", [
    # the four imports that broke the rules before the packages were rearranged: each must be caught
    ("sast_live/pipeline/backends.py", "from training.metrics import fanout_maps, synops_per_layer"),
    ("sast_live/pipeline/backends.py", "from training.checkpoint import load_event_model"),
    ("sast_live/sources/replay.py", "def f():\n    from training.data import synth_gestures"),
    ("firmware_sim/quantize.py", "from training.checkpoint_files import read_checkpoint_files"),
    # and the other rules
    ("firmware_sim/simulator.py", "import torch"),
    ("sast_live/pipeline/pipeline.py", "from PyQt6 import QtCore"),
    ("sast_live/session.py", "import pyqtgraph as pg"),
    ("sast_live/session.py", "from sast_live.gui.window import MainWindow"),
    ("sast_live/sources/base.py", "import torch.nn"),
])
def test_the_checker_catches_what_the_rules_forbid(rel, line):
    assert direct_violations(rel, line)


def test_the_transitive_check_follows_project_imports(tmp_path):
    files = {"firmware_sim.a": tmp_path / "a.py", "models.b": tmp_path / "b.py", "models": tmp_path / "m.py"}
    files["firmware_sim.a"].write_text("def f():\n    from models.b import g\n")
    files["models.b"].write_text("import numpy\nimport torch\n")
    files["models"].write_text("")
    found = reachable_externals("firmware_sim.a", files)
    assert found["torch"] == "firmware_sim.a → models.b" and "numpy" in found


PROBE = """
import json, runpy, sys
sys.argv = ["main.py", *sys.argv[1:]]
try:
    runpy.run_path("main.py", run_name="__main__")
except SystemExit:
    pass
heavy = sorted({m.split(".")[0] for m in sys.modules} & {"torch", "numba", "PyQt6", "pyqtgraph"})
print(json.dumps(heavy))
"""


@pytest.mark.parametrize("command", ["", "gui", "replay", "live", "record", "info", "convert", "data synth",
                                     "data gallery", "data demo", "data realism", "train", "evaluate", "sweep",
                                     "overview", "calibrate", "choose-window", "export", "emulate-camera"])
def test_help_loads_no_torch_numba_or_qt(command):
    done = subprocess.run([sys.executable, "-c", PROBE, *command.split(), "--help"], capture_output=True,
                          text=True, cwd=REPO, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "usage:" in done.stdout
    assert json.loads(done.stdout.strip().splitlines()[-1]) == []
