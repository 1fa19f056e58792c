"""The no-gesture gate (:class:`models.decision.NoGestureGate`): fitted on a feature bank's streaming windows.

The weights: L2-regularised logistic regression (Newton's method, classes weighed to balance), "no gesture"
against every gesture, on ``log(1 + spikes per channel per bin)`` — and for the ``channels+cells`` form also the
sorted ``log(1 + spikes per position per bin)`` (:func:`models.decision.gate_inputs`) — of the bank's *fit* part and
its *negatives* part, if it has one: the training people.
The limit: where ``lost`` of the bank's *validation* part's gesture windows that the app names right (with the
model's decision, no gate) would be closed. Nothing of the test people or the held-out real scenes is read.
"""

from __future__ import annotations

from dataclasses import replace
from typing import NamedTuple

import numpy as np

from models.decision import GATE_FEATURES, Decision, NoGestureGate, gate_inputs
from sast_live.errors import SastLiveError

#: the L2 weight, as scikit-learn's C = 1 (½|w|² + Σ weighted log-losses; the bias is not penalised)
L2 = 1.0


def logistic_fit(x: np.ndarray, y: np.ndarray, l2: float = L2, steps: int = 50) -> tuple[np.ndarray, float]:
    """``(weights (D,), bias)`` minimising ``½·l2·|w|² + Σ cᵢ·logloss(σ(w·xᵢ + b), yᵢ)`` with class-balanced
    ``cᵢ = N / (2·N_{yᵢ})``: features ``x`` (N, D), labels ``y`` (N,) in {0, 1}, both classes present."""
    x, y = np.asarray(x, np.float64), np.asarray(y, np.float64)
    n1 = y.sum()
    if not 0 < n1 < len(y):
        raise SastLiveError("the no-gesture gate needs windows of both kinds: no gesture and gestures")
    c = np.where(y > 0, len(y) / (2 * n1), len(y) / (2 * (len(y) - n1)))
    a = np.hstack([x, np.ones((len(x), 1))])
    theta = np.zeros(a.shape[1])
    reg = np.full(a.shape[1], l2)
    reg[-1] = 0.0
    for _ in range(steps):
        p = 0.5 * (1.0 + np.tanh(0.5 * (a @ theta)))
        grad = a.T @ (c * (p - y)) + reg * theta
        hess = (a * (c * p * (1 - p))[:, None]).T @ a + np.diag(reg) + 1e-9 * np.eye(len(theta))
        step = np.linalg.solve(hess, grad)
        theta -= step
        if np.abs(step).max() < 1e-10:
            break
    return theta[:-1], float(theta[-1])


def fit_gate(fit_channels: np.ndarray, fit_labels: np.ndarray, val_channels: np.ndarray, val_right: np.ndarray,
             reject_class: int, lost: float, fitted_on: str = "", fit_cells: np.ndarray | None = None,
             val_cells: np.ndarray | None = None, features: str = "channels") -> NoGestureGate:
    """The gate from the fit part's windows (spikes per channel per bin (N, C), and per position (N, P) for the
    ``channels+cells`` form; classes (N,)) and the validation part's correctly named gesture windows'
    ``val_*[val_right]``: the limit is their ``1 − lost`` quantile of the no-gesture probability.

    The ``channels+cells`` form's inputs are standardised for the fit (so the one L2 weight treats both kinds
    alike) and the standardisation folded into the weights and bias: the stored gate is ``σ(w·φ + b)`` as before."""
    if not 0 < lost < 0.5:
        raise SastLiveError(f"the gate's share of gesture windows it may lose must be in (0, 0.5), got {lost}")
    if features not in GATE_FEATURES:
        raise SastLiveError(f"the gate's features must be one of {', '.join(GATE_FEATURES)}, got {features!r}")
    x = gate_inputs(fit_channels, fit_cells, features)
    if features == "channels":  # the first form, as shipped first: no standardisation
        w, b = logistic_fit(x, np.asarray(fit_labels) == reject_class)
    else:
        mu, sd = x.mean(0), x.std(0)
        sd = np.where(sd > 1e-9, sd, 1.0)  # a feature that never varies carries nothing; left as it is
        w, b = logistic_fit((x - mu) / sd, np.asarray(fit_labels) == reject_class)
        w, b = w / sd, float(b - (mu / sd) @ w)
    right = np.asarray(val_right, bool)
    if not right.any():
        raise SastLiveError("the feature bank's validation part has no correctly named gesture window to set the "
                            "gate's limit on")
    gate = NoGestureGate(w, b, 1.0, lost, fitted_on, features)
    val_c = None if val_cells is None else np.asarray(val_cells)[right]
    limit = float(np.quantile(gate.probability(np.asarray(val_channels)[right], val_c), 1.0 - lost))
    return NoGestureGate(w, b, limit, lost, fitted_on, features)


class AppWindows(NamedTuple):
    """Every full streaming window of some recordings as the app sees them (N windows)."""

    labels: np.ndarray  # (N,) the recording's class
    top: np.ndarray  # (N,) the readout's top class
    answers: np.ndarray  # (N,) the decision's answer: a class, NO_CLASS or UNFAMILIAR_CLASS
    confidence: np.ndarray  # (N,) calibrated top-1 probability
    channels: np.ndarray  # (N, C) the last layer's spikes per channel per bin
    cells: np.ndarray  # (N, P) the last layer's spikes per position per bin (summed over channels)


def app_windows(fw, decision: Decision, recordings, n_hops: int, weights: np.ndarray) -> AppWindows:
    """Every full streaming window of ``recordings`` ``[(counts, bins, label)]`` at ``fw``'s precision, the hops
    weighed and the answers decided as the app does (empty arrays when none holds a full window)."""
    from firmware_sim.features import window_features, window_scores
    from training.decision.familiar import cells, pooled

    parts = []
    n_c = fw.layers[-1].out_shape[0]
    for counts, bins, label in recordings:
        scores = window_scores(fw, counts, bins, n_hops, weights)
        if not len(scores):
            continue
        steps = [int(weights @ bins[e - n_hops:e]) for e in range(n_hops, len(bins) + 1)]  # as the app weighs them
        logits = np.stack([fw.to_logits(acc, n) for acc, n in zip(scores, steps, strict=True)])
        f = window_features(counts, bins, n_hops, weights)
        channels, where = pooled(f, n_c), cells(f, n_c)
        k, conf = decision.decide_many(logits, None, channels, where)
        parts.append((np.full(len(k), label), scores.argmax(1), k, conf, channels, where))
    if not parts:
        return AppWindows(*(np.zeros(0, np.int64) for _ in range(3)), np.zeros(0), np.zeros((0, 0)), np.zeros((0, 0)))
    return AppWindows(*(np.concatenate(column) for column in zip(*parts, strict=True)))


def bank_gate(fw, decision: Decision, bank, n_hops: int, weights: np.ndarray, lost: float,
              features: str = "channels") -> NoGestureGate:
    """:func:`fit_gate` on a feature bank: the fit part's windows and its ``negatives`` part's (more no-gesture
    recordings of training people, where the bank holds them) for the weights (their features alone), the
    validation part's windows the app (``decision`` without any gate) names right for the limit."""
    from firmware_sim.features import windows_of
    from training.decision.familiar import cells, pooled

    if decision.reject_class is None:
        raise SastLiveError("a no-gesture gate needs a model with its own no-gesture class")
    features_f, fy = windows_of(bank.recordings("fit"), n_hops, weights)
    neg, ny = windows_of(bank.recordings("negatives"), n_hops, weights)
    if len(ny):
        features_f, fy = np.vstack([features_f, neg]), np.concatenate([fy, ny])
    val = app_windows(fw, replace(decision, gate=None), bank.recordings("validation"), n_hops, weights)
    if not len(fy) or not len(val.labels):
        raise SastLiveError("the feature bank has no full streaming windows in its fit or validation part")
    n_c = fw.layers[-1].out_shape[0]
    fx, fc = pooled(features_f, n_c), cells(features_f, n_c)
    right = (val.labels != decision.reject_class) & (val.answers == val.labels)
    what = "spikes per channel" + (" and per position (sorted)" if features != "channels" else "")
    more = f", {len(ny):,} of them from more no-gesture recordings" if len(ny) else ""
    how = (f"no-gesture gate: logistic regression on {what}, on the feature bank's {len(fx):,} training-people "
           f"windows{more}, limit where {lost:.1%} of its {int(right.sum()):,} validation-people gesture windows "
           "named right close")
    return fit_gate(fx, fy, val.channels, right, decision.reject_class, lost, fitted_on=how, fit_cells=fc,
                    val_cells=val.cells, features=features)
