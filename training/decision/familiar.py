"""The feature half of "unfamiliar scene": how far a window's last-layer activity is from every class the model knows
(:class:`models.decision.FeatureCheck`), fitted on a model's feature bank (:mod:`training.teach.bank`;
:mod:`training.teach.check` forms the bank's windows and stores the fit in a checkpoint).

The features are the last layer's spikes per channel per bin of a streaming window, summed over positions
(:func:`pooled`): the readout's input with position taken out, so a person who is smaller, larger or elsewhere in
the view keeps them (the grid's moves of the validation recordings flagged 0–1.5 % of their gesture windows in the
development run; the nominal ones 0.3 %). The fit, all on data the model's training had:

* **class means and one shared covariance** from the bank's ``fit`` part — the training subjects, each recording
  also moved, resized, turned or re-timed once (:data:`training.teach.bank.MOVED`), that copy with background noise
  and hot pixels as training's augmentation adds them — every class, no_gesture too;
  the covariance shrunk toward a multiple of the identity by the Ledoit–Wolf rule (:func:`ledoit_wolf`: the
  shrinkage is computed from the data, not chosen);
* **the limit** from the bank's ``validation`` part (the subjects training held out): the squared distance that all
  but :data:`~training.decision.calibration.UNFAMILIAR_SHARE` of its windows inside a gesture stay below — the rule
  the energy limit follows.

The bank's ``test`` part and the real scenes are never read. Scenes unlike every class — a Prophesee crop of a
street, a room turned to noise — land far from all of them; a person doing a gesture the model knows lands near its
class's mean wherever they stand.
"""

from __future__ import annotations

import numpy as np

from sast_live.errors import SastLiveError


def pooled(features: np.ndarray, n_channels: int) -> np.ndarray:
    """Window features (N, C·H·W) in the readout's (C, H, W) order → spikes per channel per bin (N, C)."""
    f = np.asarray(features, np.float64)
    return f.reshape(len(f), n_channels, -1).sum(2)


def cells(features: np.ndarray, n_channels: int) -> np.ndarray:
    """Window features (N, C·H·W) in the readout's (C, H, W) order → spikes per position per bin, summed over the
    channels (N, H·W), positions row-major (as the simulator's ``SimState.cells``)."""
    f = np.asarray(features, np.float64)
    return f.reshape(len(f), n_channels, -1).sum(1)


def ledoit_wolf(centred: np.ndarray) -> tuple[np.ndarray, float]:
    """The Ledoit–Wolf (2004) covariance of ``centred`` samples (N, D) (their mean already taken off):
    ``(1 − s)·S + s·(tr S / D)·I`` with the shrinkage ``s`` that minimises the expected Frobenius error, estimated
    from the samples. Returns ``(covariance (D, D), s)``."""
    x = np.asarray(centred, np.float64)
    n, d = x.shape
    if n < 2:
        raise SastLiveError(f"a covariance needs at least 2 windows, got {n}")
    s = x.T @ x / n
    mu = np.trace(s) / d
    target = s - mu * np.eye(d)
    delta = (target ** 2).sum() / d  # the sample covariance's distance from the scaled identity
    x2 = x ** 2
    beta = ((x2.T @ x2).sum() / n - (s ** 2).sum()) / (n * d)  # how much of it is sampling noise
    shrink = 0.0 if delta == 0 else float(min(beta, delta) / delta)
    return (1 - shrink) * s + shrink * mu * np.eye(d), shrink


def fit_feature_check(fit_x: np.ndarray, fit_y: np.ndarray, val_x: np.ndarray, val_y: np.ndarray, n_classes: int,
                      reject_class: int | None, share: float | None = None, fitted_on: str = ""):
    """A :class:`~models.decision.FeatureCheck` from pooled window features: class means and the Ledoit–Wolf
    covariance on ``fit_x`` (N, D) with classes ``fit_y`` (N,), the limit on ``val_x``/``val_y``'s gesture windows
    (all but ``share``, default :data:`~training.decision.calibration.UNFAMILIAR_SHARE`). Every one of the
    ``n_classes`` classes needs fit windows."""
    from models.decision import FeatureCheck
    from training.decision.calibration import UNFAMILIAR_SHARE

    share = UNFAMILIAR_SHARE if share is None else share
    fit_x, fit_y = np.asarray(fit_x, np.float64), np.asarray(fit_y)
    missing = [k for k in range(n_classes) if not (fit_y == k).any()]
    if missing:
        raise SastLiveError(f"classes {missing} have no windows to fit the unfamiliar-scene check on")
    means = np.stack([fit_x[fit_y == k].mean(0) for k in range(n_classes)])
    cov, _ = ledoit_wolf(fit_x - means[fit_y])
    whiten = np.linalg.cholesky(np.linalg.inv(cov)).T  # Wᵀ W = Σ⁻¹
    gesture = np.asarray(val_y) != (reject_class if reject_class is not None else -1)
    if not gesture.any():
        raise SastLiveError("no validation windows inside a gesture to set the unfamiliar-scene limit on")
    check = FeatureCheck(whiten, means @ whiten.T, 0.0, fitted_on)
    limit = float(np.quantile(check.distance(np.asarray(val_x)[gesture]), 1 - share))
    return FeatureCheck(whiten, means @ whiten.T, round(limit, 4), fitted_on)
