"""The live pipeline: sources → bins → a backend (integer simulator or float model) → snapshots (DESIGN.md §8)."""

from sast_live.pipeline.backends import load_backend
from sast_live.pipeline.pipeline import Pipeline
from sast_live.pipeline.runner import Runner
from sast_live.pipeline.snapshot import Snapshot, WindowResult

__all__ = ["load_backend", "Pipeline", "Runner", "Snapshot", "WindowResult"]
