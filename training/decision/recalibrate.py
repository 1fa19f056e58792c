"""Refit a trained checkpoint's calibration on its own validation split, exactly as training ends.

Training fits the :class:`~models.decision.Decision` (temperature, per-class offsets folded into the readout
bias, the clipped-window confidence floor) on the validation subjects it held out (``--validation``). This
module re-runs that last step on a finished checkpoint: the same split (rebuilt from the ``train_cfg`` stored in
the checkpoint), the same fit (:func:`training.decision.calibration.calibrate`). Use it after the calibration
method changed, instead of retraining. The streaming choice of a gesture model depends on the calibrated
confidences, so it is dropped here: run ``python main.py choose-window CKPT --write`` afterwards. The activity check
and the no-gesture gate (``teach-bank``) read only the hidden layers' spikes and are kept; ``teach-bank CKPT
--check-only`` refits their limits after the window is chosen again.

The offsets a checkpoint already carries (``calibration.logit_offsets``) are taken out of its readout bias
before the fit, so running it twice gives what running it once gives. ``python main.py calibrate CKPT``
rewrites the checkpoint atomically.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import torch

from models.checkpoint.files import checkpoint_paths
from models.checkpoint.weights import load_event_model, save_checkpoint
from models.decision import Decision
from sast_live.errors import SastLiveError


def recalibrate(checkpoint: str | Path, progress: bool = True) -> dict:
    """Refit and rewrite ``checkpoint`` (``X``, ``X.json`` or ``X.safetensors``); returns the new figures."""
    from training.data.datasets import limit_dataset
    from training.data.frames import FrameCache
    from training.data.resolve import resolve_split
    from training.data.validation import split_validation
    from training.decision.calibration import calibrate

    path = checkpoint_paths(checkpoint)[0].with_suffix("")  # X, X.json, X.safetensors or a run folder → X
    net, meta = load_event_model(path)
    tc = meta.get("train_cfg") or {}
    if not tc.get("validation"):
        raise SastLiveError(f"{path}: trained without --validation; there is no held-out split to calibrate on")
    train_ds = limit_dataset(resolve_split(tc["dataset"], "train", tc.get("data_dir"), progress), tc.get("limit_train"))
    if list(train_ds.classes) != list(net.cfg.classes):
        raise SastLiveError(f"{path}: the dataset {tc['dataset']!r} now has classes {list(train_ds.classes)}, the "
                            f"model {list(net.cfg.classes)}")
    _, val_ds, what = split_validation(train_ds, tc["validation"])
    net.eval()
    folded = (meta.get("calibration") or {}).get("logit_offsets")
    if folded is not None:  # back to the trained bias first: a refit is then the same fit, not a second one on top
        if net.readout.bias is None or len(folded) != net.readout.bias.numel():
            raise SastLiveError(f"{path}: calibration.logit_offsets do not match the readout")
        with torch.no_grad():
            net.readout.bias -= torch.tensor(folded, dtype=net.readout.bias.dtype)
    decision, figures = calibrate(net, net.cfg, FrameCache(val_ds, net.cfg, progress), what)
    # the activity check and the no-gesture gate read the hidden layers' spikes, which calibration does not touch:
    # they are kept (teach-bank --check-only refits them once choose-window has set the window again)
    old = Decision.from_dict(meta.get("decision"), net.cfg.classes, f"{path}: decision")
    decision = replace(decision, familiar=old.familiar, gate=old.gate)
    info = {k: v for k, v in meta.items() if k not in ("format", "clip_min_confidence", "clip_max_energy")}
    info |= {"decision": decision.to_dict(), "calibration": figures}
    save_checkpoint(path, net, info)
    return figures
