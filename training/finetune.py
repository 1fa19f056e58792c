"""Fine-tuning a model on a user's takes: ``main.py train --init-from CKPT --dataset TAKES``.

TAKES is a folder :mod:`sast_live.takes` wrote (``record --label --dataset``, the GUI's teach panel). Its classes
are the base model's followed by any new ones; the readout grows for the new ones
(:func:`training.networks.initial_network`), and the old classes are kept by mixing in ``keep_old`` training
recordings of each from the base model's own dataset (:mod:`training.data.mixing`).

Few-shot defaults (:data:`FEW_SHOT`, each overridable on the command line): the classes balanced (the takes
repeated up to the old classes' count, :func:`training.data.mixing.balance_classes`), 25 epochs at the base
training's learning rate decaying to 0 (cosine), no rho warm-up (the weights are trained already), SAST with the
base model's rho, augmentation and onset as the base model was trained, and a validation fifth of the mixed data
(every k-th sample of each class) to refit the confidences and the no-gesture floor. Why 25 epochs at 2e-3: with
12 at 5e-4 the network before calibration named 0 of 15 *training* takes of a new gesture (the calibration's
offsets alone rescued it); with 15 at 2e-3, 8 of 15; with 25, all 15 (about 3 minutes on 2 cores).

Afterwards :func:`report` measures, on the integer simulator (INT8), the held-out takes (the dataset's ``test``
split: one take in four) and the base dataset's test split (the old classes, against the base model on the same
recordings), writes ``finetune.json`` beside the checkpoint and exports the INT8 firmware folder
(``OUT/firmware-int8``).
"""

from __future__ import annotations

import json
from pathlib import Path

from sast_live.errors import SastLiveError

#: what ``train --init-from CKPT --dataset TAKES`` uses unless told otherwise
FEW_SHOT = {"epochs": 25, "lr": 2e-3, "schedule": "cosine", "validation": 0.2, "keep_old": 30, "rho_warmup": 0}


#: recordings per class of the base model's test split that check the old classes when its dataset is generated
#: for the fine-tuning alone (the full gestures-v2 test split has 40)
OLD_TEST_PER_CLASS = 10


def old_classes_dataset(base_checkpoint: str, keep_old: int, progress: bool = True) -> str | None:
    """Where the old classes come from: None when the base model's dataset is on disk (or is not a synthetic one
    this tool generates) — it is used as it is; else a folder generated for fine-tuning alone, beside where the
    full set would be, with ``keep_old`` training recordings per class and :data:`OLD_TEST_PER_CLASS` test
    recordings per class. Generating all of gestures-v2 (2,880 recordings, 3 GB, hours on 2 cores) only to mix
    in 30 per class would make a fresh clone's first fine-tuning take hours instead of minutes. A base trained on a
    union of synthetic datasets (``gestures-v2+gestures-v2-seed1``) is used as it is when every part is on disk, else
    the folder is generated from its first part."""
    from models.checkpoint.files import read_checkpoint_meta
    from training.data.resolve import SYNTH_DEFAULT, SYNTH_WORKERS, synth_recipe
    from training.data.synth import synth_dataset

    base = read_checkpoint_meta(base_checkpoint)[0].get("train_cfg") or {}
    parts = str(base.get("dataset") or "").split("+")  # a union: the old classes come from its first part
    name = parts[0]
    if keep_old <= 0 or not all(p in SYNTH_DEFAULT for p in parts):
        return None
    full = Path(base["data_dir"]) if base.get("data_dir") else SYNTH_DEFAULT[name]  # a union has no --data-dir
    if all((folder / "meta.json").is_file() for folder in (full, *(SYNTH_DEFAULT[p] for p in parts[1:]))):
        return None
    folder = full.with_name(f"{full.name}-finetune-{keep_old}")
    if not (folder / "meta.json").is_file():
        n = len(read_checkpoint_meta(base_checkpoint)[0]["model_cfg"].get("classes") or []) or 12
        kind, seed = synth_recipe(name)
        print(f"{folder}: {base['dataset']}, which {base_checkpoint} was trained on, is not on disk; generating the "
              f"{keep_old} recordings per class the fine-tuning mixes in and {OLD_TEST_PER_CLASS} per class to check "
              f"the old classes ({(keep_old + OLD_TEST_PER_CLASS) * n} recordings, once)", flush=True)
        synth_dataset(kind, folder, n_per_class=keep_old, seed=seed, split="train", progress=progress,
                      workers=SYNTH_WORKERS)
        synth_dataset(kind, folder, n_per_class=OLD_TEST_PER_CLASS, seed=seed, split="test", progress=progress,
                      workers=SYNTH_WORKERS)
    return str(folder)


def is_takes_folder(path) -> bool:
    """Whether ``path`` is a folder of takes (``meta.json`` says ``sast-live-takes``)."""
    from sast_live.takes import DATASET, META

    meta = Path(str(path)) / META
    try:
        return meta.is_file() and json.loads(meta.read_text()).get("dataset") == DATASET
    except (OSError, ValueError):
        return False


def few_shot_fields(base_checkpoint: str, given: dict) -> dict:
    """TrainConfig fields for fine-tuning ``base_checkpoint``: ``given`` (the options the user set; None = not
    set) over :data:`FEW_SHOT` over what the base model was trained with (method, rho, augmentation, onset)."""
    from models.checkpoint.files import read_checkpoint_meta

    meta, _ = read_checkpoint_meta(base_checkpoint)
    base = meta.get("train_cfg") or {}
    fields = {"method": base.get("method", "sast"), "rho": base.get("rho", 0.1),
              "augment": bool(base.get("augment", True)), "onset": float(base.get("onset", 0.0)), **FEW_SHOT}
    if fields["method"] not in ("sast", "surrogate"):
        fields["method"] = "sast"
    fields.update({k: v for k, v in given.items() if v is not None})
    return fields


def report(out: str | Path, base_checkpoint: str, takes_dir: str, progress: bool = True,
           old_dataset: str | None = None) -> dict:
    """INT8 accuracy of the fine-tuned ``out/model`` on the held-out takes (per class) and on the test split of
    ``old_dataset`` (default: the base model's dataset; the old classes, beside the base model's);
    ``out/finetune.json``; the INT8 firmware folder."""
    from firmware_sim.model_file import save_firmware
    from firmware_sim.precisions import DEPLOYED, PRECISIONS
    from firmware_sim.quantize import quantize_checkpoint
    from models.checkpoint.files import read_checkpoint_meta
    from sast_live.takes import FINETUNE_SUMMARY
    from training.evaluation.report import evaluate_many

    out = Path(out)
    model = out / "model"
    streaming = keep_streaming_window(model, base_checkpoint)
    common = {"corruptions": (), "hardware": (DEPLOYED,), "progress": progress}
    takes = evaluate_many([str(model)], str(out / "eval-takes"), dataset=takes_dir, **common)[0]
    by_class = takes["breakdown"][DEPLOYED]["by_class"]
    summary = {"base_model": str(base_checkpoint), "takes": str(takes_dir), "model": str(model),
               "held_out_takes": {name: {"n": v["n"], "int8_accuracy": v["accuracy"]}
                                  for name, v in by_class.items() if v["n"]},
               "streaming": streaming, "held_out_takes_streaming": stream_takes(model, takes_dir)}
    base_cfg = read_checkpoint_meta(base_checkpoint)[0].get("train_cfg") or {}
    if old_dataset or base_cfg.get("dataset"):
        ds = {"dataset": old_dataset} if old_dataset else {"dataset": base_cfg["dataset"],
                                                            "data_dir": base_cfg.get("data_dir")}
        after = evaluate_many([str(model)], str(out / "eval-old"), **ds, **common)[0]
        before = evaluate_many([str(base_checkpoint)], str(out / "eval-old-base"), **ds, **common)[0]
        summary["old_classes"] = {"dataset": ds["dataset"], "n": after["n_test"],
                                  "int8_before": before["hardware"][DEPLOYED]["accuracy"],
                                  "int8_after": after["hardware"][DEPLOYED]["accuracy"]}
        summary["old_classes"]["change"] = summary["old_classes"]["int8_after"] - summary["old_classes"]["int8_before"]
    fw = save_firmware(quantize_checkpoint(model, PRECISIONS[DEPLOYED].quant_config()), out / f"firmware-{DEPLOYED}")
    summary["firmware"] = str(fw)
    (out / FINETUNE_SUMMARY).write_text(json.dumps(summary, indent=2))
    return summary


def keep_streaming_window(model: Path, base_checkpoint) -> dict | None:
    """The base model's streaming window, taper and confidence floor, stored in the fine-tuned model's decision
    (the floor is never lowered below the base's; ``main.py choose-window OUT/model --write`` chooses them afresh
    on the validation subjects' recordings, which takes rendering them: about 40 s on 2 cores); None when the base
    model has no streaming choice."""
    from models.checkpoint.files import read_checkpoint_meta
    from training.decision.streaming import store

    base = read_checkpoint_meta(str(base_checkpoint))[0].get("decision") or {}
    if not base.get("window_ms"):
        return None
    store(model.with_suffix(".json"), base["window_ms"], base.get("taper", "flat"), base.get("min_confidence", 0.0))
    return {"window_ms": base["window_ms"], "taper": base.get("taper", "flat"),
            "min_confidence": base.get("min_confidence", 0.0), "from": str(base_checkpoint)}


def stream_takes(model: Path, takes_dir: str) -> dict:
    """Per class of the held-out takes: the full streaming windows (the app's settings, INT8) and how many name
    the class (the app's answer, "no gesture" counting as wrong)."""
    from firmware_sim.precisions import DEPLOYED, PRECISIONS
    from sast_live.formats.registry import read_events
    from sast_live.pipeline import load_backend
    from sast_live.pipeline.options import PipelineOptions
    from sast_live.pipeline.pipeline import stream_windows
    from sast_live.takes import TakeSet

    backend = load_backend(model, PRECISIONS[DEPLOYED])
    out: dict[str, dict[str, int]] = {}
    for take in TakeSet.open(takes_dir).takes():
        if take.split != "test":
            continue
        wins = stream_windows(backend, read_events(take.path), backend.bin_cfg.sensor_size, PipelineOptions())
        row = out.setdefault(take.name, {"windows": 0, "naming_it": 0})
        row["windows"] += len(wins)
        row["naming_it"] += sum(w.class_index == take.label for w in wins)
    return out


def render(summary: dict) -> str:
    """The few lines ``train`` prints at the end of a fine-tuning."""
    from sast_live.takes import finetune_lines

    lines = [f"fine-tuned {summary['model']} (INT8 firmware: {summary['firmware']})"]
    lines += [f"  {line}" for line in finetune_lines(summary)]
    if summary.get("streaming"):
        r = summary["streaming"]
        lines.append(f"  streaming window {r['window_ms']} ms, {r['taper']}, floor {r['min_confidence']:.2f} (the base "
                     "model's; `main.py choose-window OUT/model --write` chooses them afresh)")
    return "\n".join(lines)


def check_takes(takes_dir: str) -> None:
    """A clear error for a folder of takes that cannot be fine-tuned on (before any model is loaded)."""
    from sast_live.takes import TakeSet

    counts = TakeSet.open(takes_dir).counts()
    empty = [name for name, c in counts.items() if c["train"] and not c["test"]]
    if not any(c["train"] for c in counts.values()):
        raise SastLiveError(f"{takes_dir} has no training takes yet; record some with `main.py record SOURCE "
                            f"--label CLASS --dataset {takes_dir}`")
    if empty:
        raise SastLiveError(f"{takes_dir}: no held-out take of {', '.join(empty)} yet (every 4th take is held out): "
                            "record at least 4 takes of each class")
