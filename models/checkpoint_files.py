"""Locating and reading a checkpoint's two files, with no torch import (``firmware_sim`` reads checkpoints too).

A checkpoint ``X`` is ``X.json`` (config, history) + ``X.safetensors`` (tensors); ``X``, either file, or a run
folder holding ``model.*`` all name it.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from sast_live.errors import SastLiveError

FORMAT = "sast-live-checkpoint/1"


def read_checkpoint_files(path: str | os.PathLike, load_tensors) -> tuple[dict, dict]:
    """``(meta, tensors)``; ``load_tensors(filename)`` is safetensors' ``torch`` or ``numpy`` ``load_file``."""
    path = Path(path)
    if path.is_dir() and (path / "model.json").is_file():
        path = path / "model"
    if path.suffix in (".json", ".safetensors"):
        path = path.with_suffix("")
    jpath, wpath = path.with_suffix(".json"), path.with_suffix(".safetensors")
    if not jpath.is_file() or not wpath.is_file():
        raise SastLiveError(f"checkpoint {path}: need both {jpath.name} and {wpath.name}")
    try:
        meta = json.loads(jpath.read_text())
        tensors = load_tensors(str(wpath))
    except Exception as exc:  # JSON and safetensors raise their own types for truncated or foreign files
        raise SastLiveError(f"checkpoint {path} is unreadable: {exc}") from exc
    if not isinstance(meta, dict) or meta.get("format") != FORMAT or "model_cfg" not in meta:
        raise SastLiveError(f"{jpath} is not a SAST-Live checkpoint (format "
                            f"{meta.get('format') if isinstance(meta, dict) else None!r})")
    return meta, tensors
