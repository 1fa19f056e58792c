"""The unfamiliar-scene activity check of a model, fitted on its feature bank
(:func:`training.decision.familiar.fit_feature_check` on the bank's streaming windows) and stored in its checkpoint:
what ``teach-bank`` runs, and teaching after every refit (its classes change, so do their means)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from sast_live.errors import SastLiveError
from training.decision.familiar import fit_feature_check, pooled


def windows_feature_check(fit_windows, val_windows, n_channels: int, n_classes: int, reject_class: int | None):
    """:func:`fit_feature_check` on a bank's streaming windows ``(features (N, F), classes (N,))`` already formed:
    means and covariance on its ``fit`` part's, the limit on its ``validation`` part's."""
    (fx, fy), (vx, vy) = fit_windows, val_windows
    if not len(fx) or not len(vx):
        raise SastLiveError("the feature bank has no full streaming windows in its fit or validation part")
    how = (f"last-layer activity per channel: class means and Ledoit–Wolf covariance on the feature bank's "
           f"{len(fx):,} training-subject windows, limit on its {len(vx):,} validation-subject windows")
    return fit_feature_check(pooled(fx, n_channels), fy, pooled(vx, n_channels), vy, n_classes, reject_class,
                             fitted_on=how)


def bank_feature_check(bank, n_channels: int, n_hops: int, weights: np.ndarray, reject_class: int | None):
    """:func:`windows_feature_check` on a feature bank's streaming windows (``n_hops`` hops weighted ``weights``, as
    the app forms them)."""
    from firmware_sim.features import windows_of

    return windows_feature_check(windows_of(bank.recordings("fit"), n_hops, weights),
                                 windows_of(bank.recordings("validation"), n_hops, weights), n_channels,
                                 len(bank.classes), reject_class)


def store_feature_check(checkpoint, bank) -> object:
    """Fit the check on ``bank`` (the model's own: same hidden layers) with the checkpoint's streaming window and
    put it into its ``decision`` (JSON rewritten atomically; weights untouched). Returns the FeatureCheck."""
    from models.checkpoint.files import read_checkpoint_meta
    from models.decision import Decision
    from training.teach.readout import streaming_setup

    meta, _ = read_checkpoint_meta(str(checkpoint))
    cfg = meta["model_cfg"]
    if tuple(cfg["classes"]) != tuple(bank.classes):
        raise SastLiveError(f"{checkpoint} has classes {cfg['classes']}; its feature bank {list(bank.classes)}")
    decision = Decision.from_dict(meta.get("decision"), cfg["classes"])
    n_hops, weights = streaming_setup(decision, int(cfg["bin_us"]), bank.hop_bins)
    check = bank_feature_check(bank, int(cfg["layers"][-1]["out_channels"]), n_hops, weights,
                               decision.reject_class)
    write_decision_entry(checkpoint, meta, "familiar", check.to_dict())
    return check


def write_decision_entry(checkpoint, meta: dict, key: str, value: dict | None) -> None:
    """``meta`` (the checkpoint's JSON, as read) with ``decision[key] = value`` (None: the entry removed), written
    back atomically; the weights are untouched."""
    import json

    from models.checkpoint.files import checkpoint_paths

    d = meta.setdefault("decision", {})
    if value is None:
        d.pop(key, None)
    else:
        d[key] = value
    json_path = Path(checkpoint_paths(str(checkpoint))[0])
    tmp = json_path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(meta, indent=2))
    tmp.replace(json_path)


def store_gate(checkpoint, bank, lost: float | None, features: str | None = None):
    """Fit the no-gesture gate (:func:`training.decision.gate.bank_gate`) on ``bank`` at ``lost`` — None: refit the
    model's own gate at its own share, if it has one; 0: remove it — reading ``features`` (None: the model's own
    gate's, else ``channels``), and put it into the checkpoint's ``decision`` (JSON rewritten atomically; weights
    untouched). Returns the gate, or None."""
    from firmware_sim.quantize import QuantConfig, quantize_checkpoint
    from models.checkpoint.files import read_checkpoint_meta
    from models.decision import Decision
    from training.decision.gate import bank_gate
    from training.teach.readout import streaming_setup

    meta, _ = read_checkpoint_meta(str(checkpoint))
    cfg = meta["model_cfg"]
    decision = Decision.from_dict(meta.get("decision"), cfg["classes"])
    if lost is None:
        if decision.gate is None:
            return None
        lost = decision.gate.lost
    if features is None:
        features = decision.gate.features if decision.gate is not None else "channels"
    gate = None
    if lost:
        n_hops, weights = streaming_setup(decision, int(cfg["bin_us"]), bank.hop_bins)
        gate = bank_gate(quantize_checkpoint(str(checkpoint), QuantConfig(8)), decision, bank, n_hops, weights, lost,
                         features)
    write_decision_entry(checkpoint, meta, "gate", None if gate is None else gate.to_dict())
    return gate
