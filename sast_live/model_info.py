"""``main.py info MODEL``: what a model is — its classes, sensor, network, the app's decision, what it was taught and
from how many takes, its feature bank — a checkpoint read from its checked JSON without loading its weights (a
firmware folder is loaded whole: its JSON holds no class list of its own)."""

from __future__ import annotations

from pathlib import Path

#: beside a checkpoint ``X``: its feature bank for teaching (``training.teach.bank``)
BANK_SUFFIX = ".bank.npz"


def bank_path(checkpoint) -> Path:
    """``MODEL.bank.npz`` for checkpoint ``MODEL`` (``MODEL``, ``MODEL.json``, ``MODEL.safetensors``, or a run
    folder holding ``model.json``)."""
    p = Path(str(checkpoint))
    if p.is_dir() and (p / "model.json").is_file():
        p = p / "model"
    if p.suffix in (".json", ".safetensors"):
        p = p.with_suffix("")
    return p.with_name(p.name + BANK_SUFFIX)


def is_model_path(path) -> bool:
    """Whether ``path`` names a training checkpoint (``X``, ``X.json``, ``X.safetensors`` or a run folder) or an
    exported firmware folder, rather than a recording."""
    p = Path(str(path))
    if p.is_dir():
        return (p / "firmware.json").is_file() or (p / "model.json").is_file()
    if p.suffix in (".json", ".safetensors"):
        return p.with_suffix(".json").is_file() and p.with_suffix(".safetensors").is_file()
    return not p.exists() and p.with_suffix(".json").is_file()


def model_info(path) -> dict:
    """The facts ``info`` prints about a model (a dict, JSON-ready)."""
    from models.checkpoint.files import checkpoint_paths, read_checkpoint_meta
    from sast_live.pipeline.backends import is_firmware_dir

    p = Path(str(path))
    if is_firmware_dir(p):
        from firmware_sim.model_file import load_firmware

        fw = load_firmware(p)
        return {"path": str(p), "kind": f"INT{fw.weight_bits} firmware folder", "classes": list(fw.classes),
                "sensor": list(fw.sensor_size), "weights": fw.n_weights, "decision": fw.decision.to_dict()}
    meta, _ = read_checkpoint_meta(p)
    jpath, _ = checkpoint_paths(p)
    cfg = meta["model_cfg"]
    bank = bank_path(jpath)
    layers = cfg.get("layers") or []
    train_cfg = meta.get("train_cfg") or {}
    return {"path": str(jpath.with_suffix("")), "kind": "training checkpoint",
            "classes": list(cfg.get("classes") or []), "sensor": list(cfg.get("sensor_size") or []),
            "input": list(cfg.get("in_size") or []), "layers": [spec.get("out_channels") for spec in layers],
            "method": train_cfg.get("method"), "dataset": train_cfg.get("dataset"), "decision": meta.get("decision"),
            "taught": meta.get("taught") or [],
            "feature_bank": {"path": str(bank), "bytes": bank.stat().st_size} if bank.is_file() else None}


def render_model_info(info: dict) -> str:
    """``info``'s lines for a model."""
    lines = [f"{'model':>12}: {info['path']} ({info['kind']})",
             f"{'classes':>12}: {len(info['classes'])}: {', '.join(info['classes'])}",
             f"{'sensor':>12}: {'x'.join(str(v) for v in info['sensor'])}"]
    if info.get("input"):
        lines.append(f"{'network':>12}: input {'x'.join(str(v) for v in info['input'])}, channels "
                     f"{' '.join(str(c) for c in info['layers'])}; trained by {info.get('method')} on "
                     f"{info.get('dataset')}")
    d = info.get("decision")
    if d:
        lines.append(f"{'decision':>12}: floor {d.get('min_confidence', 0):.2f}, streaming window "
                     f"{d.get('window_ms') or 'the model’s own'} ms {d.get('taper', 'flat')}, temperature "
                     f"{d.get('temperature', 1):.3f}")
        checks = [name for key, name in (("max_energy", "energy"), ("event_rate", "events/s"),
                                         ("familiar", "last-layer activity")) if d.get(key) is not None]
        lines.append(f"{'unfamiliar':>12}: " + (", ".join(checks) if checks else "never said (no limits stored)"))
        if d.get("gate"):
            lines.append(f"{'gate':>12}: a gesture claim more than {d['gate']['limit']:.1%} likely to be no gesture "
                         f"is answered no gesture ({d['gate']['lost']:.1%} of the validation people's gestures; it "
                         + ("reads the last layer's spikes per channel and how spread they are)"
                            if d["gate"].get("features") == "channels+cells" else "reads the last layer's spikes per "
                            "channel)"))
    if "taught" not in info:  # a firmware folder: the sensor's side, without the training history
        return "\n".join(lines)
    for h in info["taught"]:
        lines.append(f"{'taught':>12}: {h['class']} from {h['takes']} takes ({h['held_out']} held out) in "
                     f"{h.get('takes_folder', '?')}")
    if not info.get("taught"):
        lines.append(f"{'taught':>12}: nothing (the classes it was trained with)")
    b = info.get("feature_bank")
    lines.append(f"{'feature bank':>12}: " + (f"{b['path']} ({b['bytes'] / 1e6:.1f} MB; teaching keeps the old "
                                               "classes with it)" if b else "none (teaching needs one: "
                                               "`main.py teach-bank MODEL`)"))
    return "\n".join(lines)

