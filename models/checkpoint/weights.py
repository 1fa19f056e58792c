"""Self-describing checkpoints: ``NAME.safetensors`` (tensors) + ``NAME.json`` (config, history, state).

The JSON fully rebuilds the model (``model_cfg``) and says how it was trained (``train_cfg``); loading
never unpickles anything. Optimizer state and RNG states are stored too, so training resumes exactly.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file

from models.checkpoint.files import FORMAT, read_checkpoint_files
from sast_live.errors import SastLiveError


def _flatten_optimizer(state: dict) -> tuple[dict, dict]:
    tensors, meta = {}, {"param_groups": state["param_groups"], "state": {}}
    for idx, entry in state["state"].items():
        meta["state"][str(idx)] = {}
        for key, value in entry.items():
            if torch.is_tensor(value):
                tensors[f"optim.{idx}.{key}"] = value.detach().cpu().contiguous()
            else:
                meta["state"][str(idx)][key] = value
    return tensors, meta


def _unflatten_optimizer(tensors: dict, meta: dict) -> dict:
    state = {int(i): dict(entry) for i, entry in meta["state"].items()}
    for name, value in tensors.items():
        if name.startswith("optim."):
            _, idx, key = name.split(".", 2)
            state.setdefault(int(idx), {})[key] = value
    return {"state": state, "param_groups": meta["param_groups"]}


def save_checkpoint(path: str | os.PathLike, model: torch.nn.Module, info: dict,
                    optimizer: torch.optim.Optimizer | None = None, rng: torch.Tensor | None = None) -> Path:
    """Write ``path.safetensors`` and ``path.json`` atomically (temp files, then rename)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tensors = {f"model.{k}": v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    meta = dict(info, format=FORMAT)
    if optimizer is not None:
        t, meta["optimizer"] = _flatten_optimizer(optimizer.state_dict())
        tensors.update(t)
    if rng is not None:
        tensors["rng.torch"] = rng
    tmp_w, tmp_j = path.with_suffix(".safetensors.tmp"), path.with_suffix(".json.tmp")
    save_file(tensors, str(tmp_w))
    tmp_j.write_text(json.dumps(meta, indent=2, default=_json_default))
    tmp_w.replace(path.with_suffix(".safetensors"))
    tmp_j.replace(path.with_suffix(".json"))
    return path


def _json_default(obj):
    if isinstance(obj, tuple):
        return list(obj)
    if hasattr(obj, "item"):
        return obj.item()
    raise TypeError(f"not JSON serialisable: {type(obj)}")


def load_checkpoint(path: str | os.PathLike) -> tuple[dict, dict]:
    """``(meta, tensors)`` of a checkpoint given as ``X``, ``X.json`` or ``X.safetensors``."""
    return read_checkpoint_files(path, load_file)


def load_model(path: str | os.PathLike):
    """``(model, meta)``: the network rebuilt from a checkpoint's config, with its weights."""
    from models.networks import build_model

    meta, tensors = load_checkpoint(path)
    model = build_model(meta["model_cfg"])
    restore(model, tensors)
    return model, meta


def load_event_model(path: str | os.PathLike):
    """:func:`load_model` for the places that run event streams (evaluation, the live app): a sequence-task
    network (the convex reconstruction's parallel LIF) is refused with a clear error."""
    model, meta = load_model(path)
    if not hasattr(model, "convs"):
        raise SastLiveError(f"{path} is a sequence-task network ({meta['model_cfg'].get('name')}); it reads "
                            "sequences, not event frames — its accuracy is in its summary.json")
    return model, meta


def restore(model: torch.nn.Module, tensors: dict, optimizer: torch.optim.Optimizer | None = None,
            meta: dict | None = None) -> None:
    """Load weights (and optimizer state) into existing objects, with clear errors on mismatch."""
    weights = {k[len("model."):]: v for k, v in tensors.items() if k.startswith("model.")}
    try:
        model.load_state_dict(weights)
    except RuntimeError as exc:
        raise SastLiveError(f"checkpoint weights do not fit the model built from its config: {exc}") from exc
    if optimizer is not None and meta is not None and "optimizer" in meta:
        optimizer.load_state_dict(_unflatten_optimizer(tensors, meta["optimizer"]))
