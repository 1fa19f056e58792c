"""Teaching by refitting the readout on the sensor's own features: ``main.py train --init-from MODEL --dataset TAKES``
(the default ``--method readout``).

The steps, each timed in the summary:

1. **features** — every take through the base model's INT8 hidden layers (the ones on the sensor, unchanged),
   counted per hop (:func:`training.teach.bank.take_hops`), cut into the app's streaming windows (the model's
   ``window_ms`` and taper);
2. **fit** — the readout of all classes, old and new, refitted on the training takes' windows and the base model's
   feature bank (the old classes as the sensor saw them, shipped beside the model: nothing is generated or
   rendered), class-balanced, pulled towards the base readout (:mod:`training.teach.fit`: one optimum, with a
   certificate);
3. **model** — a checkpoint with the base's hidden layers, the new readout and the base's decision (temperature,
   confidence floor, streaming window: the fit works in the calibrated units, so the floor keeps its meaning; the
   unfamiliar-scene energy limit refitted on the bank's validation windows), its feature bank grown by the takes,
   and the INT8 firmware folder;
4. **report** — INT8, exactly as the simulator sums it (:func:`firmware_sim.features.window_scores`): the
   held-out takes' streaming windows (what the app would say), and the old classes on the bank's test recordings
   before and after (reported, never used to choose anything).
"""

from __future__ import annotations

import json
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

from firmware_sim.features import windows_of
from sast_live.errors import SastLiveError

#: the fit's pull towards the base readout (λ of :mod:`training.teach.fit`); chosen on a training subject's
#: takes (benchmarks/teach_lambda.py), never on the stand-in test person the README reports. 3e-5 with the bank's
#: moved copies (the lowest λ of the benchmark's grid; 1e-4 scores 0.42 against 0.44 on the other person's takes)
LAMBDA = 3e-5
#: the pull on the rows of the classes the takes do not show, as a multiple of λ (1: the same pull on every row)
OLD_PULL = 1.0


def streaming_setup(decision, bin_us: int, hop_bins: int) -> tuple[int, np.ndarray]:
    """(hops per streaming window, their integer weights) of a model's stored window and taper."""
    from sast_live.pipeline.windows import hop_weights

    window_ms = decision.window_ms or 1000
    n = max(1, round(window_ms * 1000 / (hop_bins * bin_us)))
    return n, hop_weights(n, decision.taper)


def decided(fw, decision, recordings, n_hops: int, weights: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """INT8 over every full window of ``recordings``: (labels, top classes, the app's answers)."""
    from training.decision.gate import app_windows

    w = app_windows(fw, decision, recordings, n_hops, weights)
    return w.labels, w.top, w.answers


def _cat(parts: list) -> np.ndarray:
    return np.concatenate(parts) if parts else np.zeros(0, np.int64)


def _take_items(takes, sim, cfg, hop_bins: int, reject: int | None, progress: bool, moved: int = 0,
                nuisance: bool = False):
    """Each take's hop counts as bank items ``(counts, bins, label, part)`` (training takes as ``fit``, each with
    ``moved`` moved copies, with ``nuisance`` noise and hot pixels, as the bank stores its own fit recordings;
    held-out takes as ``test``), and the takes per class and split."""
    from tqdm import tqdm

    from sast_live.formats.registry import read_events
    from training.teach.bank import moved_copies, take_hops

    items, per_class = [], {}
    for k, take in enumerate(tqdm(takes.takes(), desc="takes → features", disable=not progress)):
        events = read_events(take.path)
        if not len(events) and take.label != reject:
            raise SastLiveError(f"{take.path}: this take of {take.name} has no events (was the camera covered or "
                                "the source paused?); delete it or record it again")
        part = "fit" if take.split == "train" else "test"
        copies = moved_copies(events, cfg, moved, np.random.default_rng(k), nuisance) \
            if part == "fit" and len(events) else []
        for seen in [events] + copies:
            counts, bins = take_hops(sim, seen, cfg, hop_bins)
            items.append((counts, bins, take.label, part))
        row = per_class.setdefault(take.name, {"train": 0, "test": 0})
        row[take.split] += 1
    return items, per_class


def load_base(base: str):
    """``(model, meta, decision, bank)`` of a model to teach, its feature bank checked against its hidden layers
    (and given the model's own readout as its anchor if it has none)."""
    from models.checkpoint.weights import load_model
    from models.decision import Decision
    from sast_live.model_info import bank_path
    from training.teach.bank import Bank, features_digest

    model, meta = load_model(base)
    cfg = model.cfg
    if not getattr(cfg, "readout_bias", False):
        raise SastLiveError(f"{base} has no readout bias; teaching refits a readout with one (the gesture models)")
    decision = Decision.from_dict(meta.get("decision"), cfg.classes, f"{base}: decision")
    bank = Bank.load(bank_path(base))
    if bank.digest != features_digest(model):
        raise SastLiveError(f"{bank_path(base)} was computed with other hidden layers than {base}'s; build its "
                            f"bank again with `main.py teach-bank {base}`")
    if bank.classes != tuple(cfg.classes):
        raise SastLiveError(f"{bank_path(base)} holds classes {list(bank.classes)}; {base} has {list(cfg.classes)}")
    if bank.anchor is None:  # a bank from before anchors were kept: the model's own readout is its anchor
        bank = bank.with_anchor(model.readout.weight.detach().double().numpy(),
                                model.readout.bias.detach().double().numpy(), cfg.classes)
    return model, meta, decision, bank


def current_readout(model, classes, W0: np.ndarray, b0: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Where a fit for ``classes`` starts: the model's own rows for the classes it has (a model taught before is
    near the new optimum already), the anchored start ``(W0, b0)`` for the others. The optimum does not depend on
    it; the number of solver steps does."""
    W, b = W0.copy(), b0.copy()
    own = list(model.cfg.classes)
    Wm, bm = model.readout.weight.detach().double().numpy(), model.readout.bias.detach().double().numpy()
    for k, name in enumerate(classes):
        if name in own:
            W[k], b[k] = Wm[own.index(name)], bm[own.index(name)]
    return W, b


def write_model(out: Path, model, meta: dict, classes, fit, decision, bank, lam: float, taught: list,
                train_cfg: dict, fit_windows: tuple, val_windows: tuple):
    """The taught checkpoint (the base's hidden layers, the fitted readout, the decision with its unfamiliar-scene
    limits refitted on the bank's windows: ``fit_windows`` and ``val_windows``, ``(features (n, F), classes (n,))``
    of its fit and validation parts, the ones the readout was fitted and checked on), its bank and its INT8
    firmware folder: ``(checkpoint path, firmware, firmware folder, decision)``."""
    import torch

    from firmware_sim.model_file import save_firmware
    from firmware_sim.precisions import DEPLOYED, PRECISIONS
    from firmware_sim.quantize import quantize_checkpoint
    from models.checkpoint.weights import save_checkpoint
    from models.decision import energy
    from models.networks import build_model
    from sast_live.model_info import bank_path
    from training.decision.calibration import energy_limit
    from training.teach.check import windows_feature_check

    cfg = replace(model.cfg, classes=tuple(classes), n_classes=len(classes))
    net = build_model(cfg)
    state = net.state_dict()
    for key, value in model.state_dict().items():
        if not key.startswith("readout."):
            state[key] = value
    state["readout.weight"] = torch.from_numpy(fit.W).float()
    state["readout.bias"] = torch.from_numpy(fit.b).float()
    net.load_state_dict(state)
    Xv = val_windows[0]
    max_energy = decision.max_energy
    if decision.max_energy is not None and len(Xv):
        max_energy = energy_limit(energy(Xv @ fit.W.T + fit.b, decision.temperature))
    familiar = None
    if decision.familiar is not None:  # the classes changed: their means, the covariance and the limit with them
        familiar = windows_feature_check(fit_windows, val_windows, cfg.layers[-1].out_channels, len(classes),
                                         decision.reject_class)
    fitted_on = decision.fitted_on.split("; readout refitted")[0]
    new_decision = replace(decision, max_energy=max_energy, familiar=familiar,
                           fitted_on=f"{fitted_on}; readout refitted on the sensor's features (λ {lam:g}), "
                                     "unfamiliar-scene energy limit on the feature bank's validation windows")
    info = {"model_cfg": cfg.to_dict(), "train_cfg": {**(meta.get("train_cfg") or {}), **train_cfg, "lambda": lam},
            "decision": new_decision.to_dict(), "taught": taught,
            "readout_fit": {"objective": fit.objective, "gap_bound": fit.gap_bound, "grad_norm": fit.grad_norm,
                            "iterations": fit.iterations, "windows": len(fit_windows[0]), "seconds": fit.seconds}}
    path = save_checkpoint(out / "model", net, info)
    bank.save(bank_path(path))
    if decision.gate is not None:  # the classes changed: the gate is fitted again, on the taught model's windows
        from training.teach.check import store_gate

        new_decision = replace(new_decision, gate=store_gate(path, bank, decision.gate.lost, decision.gate.features))
    fw = quantize_checkpoint(path, PRECISIONS[DEPLOYED].quant_config())
    return path, fw, save_firmware(fw, out / f"firmware-{DEPLOYED}"), new_decision


def old_classes_report(base: str, decision, fw, new_decision, bank, keep, bin_us: int) -> dict | None:
    """INT8 on the bank's test windows of the classes in ``keep`` (indices, the same in both models), before
    (``base``) and after (``fw``): top-class accuracy and the app's answers."""
    from firmware_sim.precisions import DEPLOYED, PRECISIONS
    from firmware_sim.quantize import quantize_checkpoint

    old = [r for r in bank.recordings("test") if r[2] in keep]
    if not old:
        return None
    n_hops, weights = streaming_setup(decision, bin_us, bank.hop_bins)
    base_fw = quantize_checkpoint(base, PRECISIONS[DEPLOYED].quant_config())
    lb, top_before, ans_before = decided(base_fw, decision, old, n_hops, weights)
    _, top_after, ans_after = decided(fw, new_decision, old, n_hops, weights)
    out = {"dataset": "the feature bank", "bank_source": bank.source, "what": "test windows", "n": int(len(lb)),
           "int8_before": float((top_before == lb).mean()), "int8_after": float((top_after == lb).mean()),
           "answers_before": answer_right(ans_before, lb, decision.reject_class),
           "answers_after": answer_right(ans_after, lb, new_decision.reject_class)}
    out["change"] = out["int8_after"] - out["int8_before"]
    return out


def teach(base: str, takes_dir: str, out: str, lam: float = LAMBDA, progress: bool = True, say=None,
          old_pull: float = OLD_PULL, moved: int | None = None) -> dict:
    """Teach ``base`` the classes of the takes in ``takes_dir`` (each training take also ``moved`` times moved;
    default: as many as the bank's own fit recordings, :attr:`Bank.moved`); writes ``out/model`` (+ ``.bank.npz``),
    ``out/firmware-int8`` and ``out/finetune.json``; returns the summary. ``say`` gets one line per step."""
    from firmware_sim.precisions import DEPLOYED
    from sast_live.takes import FINETUNE_SUMMARY, TakeSet
    from training.convex.dictionary import hidden_firmware
    from training.teach.fit import fit_readout
    from training.teach.old_classes import check_old_classes

    say = say or (lambda line: print(line, flush=True))
    times = {}
    t0 = time.perf_counter()
    model, meta, decision, bank = load_base(base)
    cfg = model.cfg
    base_classes = tuple(cfg.classes)
    takes = TakeSet.open(takes_dir)
    if tuple(takes.sensor_size) != tuple(cfg.sensor_size):
        raise SastLiveError(f"{takes_dir} holds {takes.sensor_size[0]}x{takes.sensor_size[1]} takes; {base} reads a "
                            f"{cfg.sensor_size[0]}x{cfg.sensor_size[1]} sensor")
    classes = tuple(takes.classes)
    if classes[:len(base_classes)] != base_classes:
        raise SastLiveError(f"{takes_dir} has classes {list(classes)}; they must start with {base}'s own "
                            f"({list(base_classes)}), in order (a takes folder begun for another model?)")
    counts = takes.counts()
    if not any(c["train"] for c in counts.values()):
        raise SastLiveError(f"{takes_dir} has no training takes yet; record some with `main.py record SOURCE "
                            f"--label CLASS --dataset {takes_dir}`")
    new = [c for c in classes[len(base_classes):] if not counts.get(c, {}).get("train")]
    if new:
        raise SastLiveError(f"{takes_dir}: no training take of {', '.join(new)} yet")
    say(f"step 1/4: the takes through {Path(base).parent.name}'s INT8 hidden layers")
    sim = hidden_firmware(model, DEPLOYED)
    items, per_class = _take_items(takes, sim, cfg, bank.hop_bins, decision.reject_class, progress,
                                   bank.moved if moved is None else moved, bank.nuisance)
    # a class taught before from this same folder: its takes now stand in for the ones stored then (so a take
    # deleted since is gone from the model too)
    folder = str(Path(takes_dir).resolve())
    again = [h["class"] for h in meta.get("taught") or []
             if h.get("takes_folder") == folder and h["class"] in per_class]
    if again:
        same = np.isin(bank.labels, [base_classes.index(c) for c in again])
        if bank.origin is not None:
            same &= bank.from_folder(folder)  # only the takes from this folder: never the bank's own recordings
        else:  # a bank that did not keep where recordings came from: only classes the factory model never had
            same &= ~np.isin(bank.labels, [base_classes.index(c) for c in bank.anchor[2] if c in base_classes])
        bank = bank.keeping(~same)
    grown = bank.with_recordings(items, classes, folder)
    n_hops, weights = streaming_setup(decision, cfg.bin_us, bank.hop_bins)
    X, y = windows_of(grown.recordings("fit"), n_hops, weights)  # what the readout is fitted on
    short = [name for name in per_class if per_class[name]["train"] and not (y == classes.index(name)).any()]
    if short:
        raise SastLiveError(f"{takes_dir}: the takes of {', '.join(short)} are shorter than the streaming window "
                            f"({decision.window_ms or 1000} ms); record longer takes")
    times["features_s"] = time.perf_counter() - t0

    t1 = time.perf_counter()
    W0, b0 = grown.start_readout()
    anchor_W, anchor_b, anchor_classes = grown.anchor
    say(f"step 2/4: fitting the readout of {len(classes)} classes")
    rows = np.array([lam if name in per_class or name not in anchor_classes else lam * old_pull
                     for name in classes])
    fit, n_windows = fit_readout(X, y, W0, b0, decision.temperature, rows,
                                 start=current_readout(model, classes, W0, b0)), len(X)
    Xv, yv = windows_of(grown.recordings("validation"), n_hops, weights)
    check = check_old_classes(fit.W, fit.b, anchor_W, anchor_b, Xv, yv, classes)  # its warning: in the summary
    times["fit_s"] = time.perf_counter() - t1

    say("step 3/4: writing the model, its feature bank and the INT8 firmware")
    t2 = time.perf_counter()
    taught = [h for h in meta.get("taught") or [] if h["class"] not in again]
    taught += [{"class": name, "takes": per_class[name]["train"], "held_out": per_class[name]["test"],
                "takes_folder": folder} for name in classes if name in per_class]
    train_cfg = {"method": "readout", "init_from": str(base), "dataset": str(takes_dir), "data_dir": None,
                 "old_pull": old_pull}
    path, fw, fw_dir, new_decision = write_model(Path(out), model, meta, classes, fit, decision, grown, lam, taught,
                                                 train_cfg, (X, y), (Xv, yv))
    times["model_s"] = time.perf_counter() - t2

    say("step 4/4: the held-out takes and the old classes at INT8")
    t3 = time.perf_counter()
    summary = {"base_model": str(base), "takes": str(takes_dir), "model": str(path), "firmware": str(fw_dir),
               "method": "readout", "lambda": lam, "windows_fitted": n_windows,
               "certificate": {"objective": fit.objective, "gap_bound": fit.gap_bound, "iterations": fit.iterations},
               "streaming": {"window_ms": decision.window_ms, "taper": decision.taper,
                             "min_confidence": decision.min_confidence}}
    held, streamed = {}, {}
    for name in per_class:
        k = classes.index(name)
        recs = [r for r in grown.recordings("test") if r[2] == k]
        if not recs:
            continue
        per_take = [decided(fw, new_decision, [r], n_hops, weights)[2] for r in recs]
        answers = _cat(per_take)
        right = sum(int(len(a) > 0 and np.mean(_is(a, k, new_decision.reject_class)) > 0.5) for a in per_take)
        held[name] = {"n": len(recs), "int8_accuracy": right / len(recs)}
        streamed[name] = {"windows": int(len(answers)), "naming_it": int(_is(answers, k, new_decision.reject_class)
                                                                         .sum())}
    summary["held_out_takes"], summary["held_out_takes_streaming"] = held, streamed
    keep = [k for k, name in enumerate(base_classes) if name not in per_class]
    old = old_classes_report(base, decision, fw, new_decision, grown, keep, cfg.bin_us)
    if old:
        summary["old_classes"] = old
    if check is not None:
        summary["old_classes_validation"] = check.to_dict()
    times["report_s"] = time.perf_counter() - t3
    summary["seconds"] = {k: round(v, 2) for k, v in times.items()}
    (Path(out) / FINETUNE_SUMMARY).write_text(json.dumps(summary, indent=2))
    return summary


def forget(base: str, name: str, out: str, lam: float = LAMBDA, say=None) -> dict:
    """``base`` without class ``name`` (a taught one, or any but the no-gesture class): its readout row and its
    bank recordings dropped, the readout of the rest refitted; writes as :func:`teach` does."""
    from sast_live.takes import FINETUNE_SUMMARY
    from training.teach.fit import fit_readout

    say = say or (lambda line: print(line, flush=True))
    t0 = time.perf_counter()
    model, meta, decision, bank = load_base(base)
    classes = tuple(model.cfg.classes)
    if name not in classes:
        raise SastLiveError(f"{base} has no class {name!r}; its classes are {', '.join(classes)}")
    k = classes.index(name)
    if k == decision.reject_class:
        raise SastLiveError(f"{name!r} is {base}'s no-gesture class, which its decision rests on; it cannot be removed")
    say(f"step 1/2: refitting the readout without {name}")
    kept = bank.without_class(name)
    W0, b0 = kept.start_readout()
    reject = decision.reject_class
    decision = replace(decision, reject_class=None if reject is None else reject - int(reject > k))
    n_hops, weights = streaming_setup(decision, model.cfg.bin_us, kept.hop_bins)
    X, y = windows_of(kept.recordings("fit"), n_hops, weights)
    fit, n_windows = fit_readout(X, y, W0, b0, decision.temperature, lam,
                                 start=current_readout(model, kept.classes, W0, b0)), len(X)
    say("step 2/2: writing the model, its feature bank and the INT8 firmware")
    taught = [h for h in meta.get("taught") or [] if h["class"] != name]
    path, fw, fw_dir, new_decision = write_model(Path(out), model, meta, kept.classes, fit, decision, kept, lam,
                                                 taught, {"method": "readout", "init_from": str(base),
                                                          "forgot": name}, (X, y),
                                                 windows_of(kept.recordings("validation"), n_hops, weights))
    summary = {"base_model": str(base), "model": str(path), "firmware": str(fw_dir), "method": "readout",
               "forgot": name, "lambda": lam, "windows_fitted": n_windows, "classes": list(kept.classes),
               "certificate": {"objective": fit.objective, "gap_bound": fit.gap_bound, "iterations": fit.iterations},
               "seconds": {"all_s": round(time.perf_counter() - t0, 2)}}
    (Path(out) / FINETUNE_SUMMARY).write_text(json.dumps(summary, indent=2))
    return summary


def _is(answers: np.ndarray, k: int, reject: int | None) -> np.ndarray:
    """Whether each app answer names class ``k`` ("no gesture" names the no-gesture class)."""
    from models.decision import NO_CLASS

    return (answers == k) | ((answers == NO_CLASS) if k == reject else False)


def render(summary: dict) -> str:
    """What ``train`` prints at the end of teaching: the model, what the takes and old classes measured, the fit's
    certificate and the time of each step."""
    from sast_live.takes import finetune_lines

    c, sec, st = summary["certificate"], summary["seconds"], summary["streaming"]
    lines = [f"taught {summary['model']} (INT8 firmware: {summary['firmware']})"]
    lines += [f"  {line}" for line in finetune_lines(summary)]
    lines.append(f"  readout refitted on {summary['windows_fitted']} streaming windows ({st['window_ms']} ms, "
                 f"{st['taper']}; floor {st['min_confidence']:.2f} kept), λ {summary['lambda']:g}: objective "
                 f"{c['objective']:.5f}, within {c['gap_bound']:.1e} of the optimum, {c['iterations']} L-BFGS steps")
    lines.append("  time: " + ", ".join(f"{k[:-2]} {v:.1f} s" for k, v in sec.items()))
    return "\n".join(lines)


def answer_right(answers: np.ndarray, labels: np.ndarray, reject: int | None) -> float:
    """Share of windows whose app answer is their class ("no gesture" is right for the reject class)."""
    from models.decision import NO_CLASS

    ok = (answers == labels) | ((labels == reject) & (answers == NO_CLASS)) if reject is not None else \
        answers == labels
    return float(ok.mean()) if len(ok) else 0.0
