"""The live pipeline: sources → bins → a backend (integer simulator or float model) → snapshots (DESIGN.md §8).

Its parts: :mod:`~sast_live.pipeline.options` (what runs on a stream), :mod:`~sast_live.pipeline.backends` (the
networks), :mod:`~sast_live.pipeline.pipeline` (one synchronous step), :mod:`~sast_live.pipeline.windows` (bins →
predictions), :mod:`~sast_live.pipeline.telemetry` (what a viewer sees), :mod:`~sast_live.pipeline.runner` (the
threads), :mod:`~sast_live.pipeline.snapshot` (the immutable records). The names below are loaded on first use, so
reading the options (``main.py --help``) loads no numba.
"""

from importlib import import_module

_HOMES = {"load_backend": "backends", "Pipeline": "pipeline", "Runner": "runner", "Snapshot": "snapshot",
          "WindowResult": "snapshot", "PipelineOptions": "options", "TRAINING_WINDOWS": "options"}

__all__ = list(_HOMES)


def __getattr__(name: str):
    if name in _HOMES:
        return getattr(import_module(f"sast_live.pipeline.{_HOMES[name]}"), name)
    raise AttributeError(f"module 'sast_live.pipeline' has no attribute {name!r}")
