"""Package boundaries (DESIGN.md §2), read from the source with ``ast`` so a lazy import inside a function counts too:

* ``sast_live/`` and ``firmware_sim/`` never import ``training/``;
* ``firmware_sim/`` runs without torch and Qt: nothing it imports, directly or through other project modules,
  reaches them;
* Qt (PyQt6, pyqtgraph) only inside ``sast_live/gui/``; nothing imports ``sast_live.gui`` but the CLI;
* torch only in ``models/``, ``training/`` and the float backend of the pipeline;
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
                                     "train", "evaluate", "sweep", "export", "emulate-camera"])
def test_help_loads_no_torch_numba_or_qt(command):
    done = subprocess.run([sys.executable, "-c", PROBE, *command.split(), "--help"], capture_output=True,
                          text=True, cwd=REPO, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "usage:" in done.stdout
    assert json.loads(done.stdout.strip().splitlines()[-1]) == []
