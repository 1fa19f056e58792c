"""Locating, checking and reading a checkpoint's two files, with no torch import (``firmware_sim`` reads
checkpoints too).

A checkpoint ``X`` is ``X.json`` (config, history) + ``X.safetensors`` (tensors); ``X``, either file, or a run
folder holding ``model.*`` all name it. Nothing is built and no tensor is read before
:mod:`models.checkpoint.schema` has checked the config and the tensors' names, shapes and dtypes, which come from
the safetensors header alone (:func:`safetensors_header`).
"""

from __future__ import annotations

import json
import os
import struct
from pathlib import Path

from sast_live.errors import SastLiveError

FORMAT = "sast-live-checkpoint/1"
MAX_JSON_BYTES = 64 * 2**20  # a config with its training history; far below what could exhaust memory
MAX_HEADER_BYTES = 16 * 2**20
DTYPE_BYTES = {"F64": 8, "F32": 4, "F16": 2, "BF16": 2, "I64": 8, "I32": 4, "I16": 2, "I8": 1, "U8": 1, "BOOL": 1,
               "U16": 2, "U32": 4, "U64": 8}


def safetensors_header(path: str | os.PathLike) -> dict[str, tuple[str, tuple[int, ...]]]:
    """``name → (dtype, shape)`` of a safetensors file, read from its header alone and checked against the file's
    size (so a pickle or a truncated file is refused before any tensor is read)."""
    path = Path(path)
    size = path.stat().st_size
    with open(path, "rb") as fh:
        head = fh.read(8)
        if len(head) < 8:
            raise SastLiveError(f"{path}: not a safetensors file ({size} bytes)")
        n = struct.unpack("<Q", head)[0]
        if n > min(MAX_HEADER_BYTES, size - 8):
            raise SastLiveError(f"{path}: not a safetensors file (its first 8 bytes announce a {n}-byte header)")
        try:
            header = json.loads(fh.read(n))
        except (UnicodeDecodeError, ValueError) as exc:
            raise SastLiveError(f"{path}: not a safetensors file (header: {exc})") from None
    if not isinstance(header, dict):
        raise SastLiveError(f"{path}: not a safetensors file (its header is not an object)")
    out, body = {}, size - 8 - n
    for name, entry in header.items():
        if name == "__metadata__":
            continue
        try:
            dtype, shape, (a, b) = entry["dtype"], tuple(int(d) for d in entry["shape"]), entry["data_offsets"]
            width = DTYPE_BYTES[dtype]
        except (KeyError, TypeError, ValueError):
            raise SastLiveError(f"{path}: {name}: a malformed header entry {entry!r}") from None
        count = 1
        for d in shape:
            if d < 0:
                raise SastLiveError(f"{path}: {name}: negative dimension in shape {shape}")
            count *= d
        if not (isinstance(a, int) and isinstance(b, int) and 0 <= a <= b <= body and b - a == count * width):
            raise SastLiveError(f"{path}: {name}: its data ({dtype} {shape}) does not fit bytes {a}…{b} of a "
                                f"{body}-byte body")
        out[name] = (dtype, shape)
    return out


def read_json(path: Path, max_bytes: int = MAX_JSON_BYTES, what: str = "a checkpoint's config") -> dict:
    """A model file's JSON object (a checkpoint's config, a firmware model's description), refused with a clear
    error when it is larger than ``max_bytes``, not UTF-8 JSON, or not an object; nothing else is checked here."""
    size = path.stat().st_size
    if size > max_bytes:
        raise SastLiveError(f"{path}: {size:,} bytes: too large for {what}")
    try:
        meta = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise SastLiveError(f"{path}: not valid JSON ({exc})") from None
    if not isinstance(meta, dict):
        raise SastLiveError(f"{path}: not {what} (a JSON {type(meta).__name__}, not an object)")
    return meta


def checkpoint_paths(path: str | os.PathLike) -> tuple[Path, Path]:
    """``(X.json, X.safetensors)`` of a checkpoint named as ``X``, either file, or a run folder."""
    path = Path(path)
    if path.is_dir() and (path / "model.json").is_file():
        path = path / "model"
    if path.suffix in (".json", ".safetensors"):
        path = path.with_suffix("")
    jpath, wpath = path.with_suffix(".json"), path.with_suffix(".safetensors")
    if not jpath.is_file() or not wpath.is_file():
        raise SastLiveError(f"checkpoint {path}: need both {jpath.name} and {wpath.name}")
    return jpath, wpath


def read_checkpoint_meta(path: str | os.PathLike) -> tuple[dict, Path]:
    """The checked JSON of a checkpoint and its tensor file; every check of :mod:`models.checkpoint.schema`
    has passed, and no tensor has been read."""
    from models.checkpoint.schema import check_checkpoint

    jpath, wpath = checkpoint_paths(path)
    meta = read_json(jpath)
    if meta.get("format") != FORMAT or "model_cfg" not in meta:
        raise SastLiveError(f"{jpath}: not a SAST-Live checkpoint (format {meta.get('format')!r})")
    check_checkpoint(meta, safetensors_header(wpath), str(jpath), str(wpath))
    return meta, wpath


def read_checkpoint_files(path: str | os.PathLike, load_tensors) -> tuple[dict, dict]:
    """``(meta, tensors)`` of a checked checkpoint; ``load_tensors(filename)`` is safetensors' ``torch`` or
    ``numpy`` ``load_file``."""
    meta, wpath = read_checkpoint_meta(path)
    try:
        tensors = load_tensors(str(wpath))
    except Exception as exc:  # safetensors raises its own types for files that lie about their contents
        raise SastLiveError(f"{wpath}: unreadable ({exc})") from exc
    return meta, tensors
