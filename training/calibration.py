"""Fitting a model's :class:`~models.decision.Decision` on a validation split: temperature scaling (Guo et al.,
2017: one scalar ``T`` with ``softmax(logits / T)`` calibrated, by minimising the negative log-likelihood; no
prediction changes) and the confidence below which the app says "no gesture"."""

from __future__ import annotations

import numpy as np

from models.decision import Decision, softmax
from training.metrics import expected_calibration_error


def nll(logits: np.ndarray, labels: np.ndarray, temperature: float) -> float:
    """Mean negative log-likelihood of ``labels`` under ``softmax(logits / temperature)``; logits (N, C)."""
    p = softmax(logits, temperature)[np.arange(len(labels)), np.asarray(labels)]
    return float(-np.log(np.maximum(p, 1e-300)).mean())


def fit_temperature(logits: np.ndarray, labels: np.ndarray, lo: float = 0.02, hi: float = 50.0) -> float:
    """The ``T`` in ``[lo, hi]`` that minimises :func:`nll` (golden-section search on log T; the NLL is convex in
    1/T, so it has a single minimum)."""
    if len(labels) == 0:
        raise ValueError("no samples to fit a temperature on")
    a, b = np.log(lo), np.log(hi)
    g = (np.sqrt(5) - 1) / 2
    c, d = b - g * (b - a), a + g * (b - a)
    fc, fd = nll(logits, labels, np.exp(c)), nll(logits, labels, np.exp(d))
    for _ in range(60):
        if fc < fd:
            b, d, fd = d, c, fc
            c = b - g * (b - a)
            fc = nll(logits, labels, np.exp(c))
        else:
            a, c, fc = c, d, fd
            d = a + g * (b - a)
            fd = nll(logits, labels, np.exp(d))
    return float(np.exp((a + b) / 2))


def fit_decision(logits: np.ndarray, labels: np.ndarray, reject_class: int | None, fitted_on: str,
                 keep: float = 0.98) -> tuple[Decision, dict]:
    """The Decision for validation ``logits`` (N, C) and ``labels``: the temperature, and ``min_confidence`` =
    the calibrated confidence that ``keep`` of the correctly recognised validation gestures reach (so the gate
    costs at most ``1 − keep`` of them). Also the figures behind it (ECE before/after, gestures kept)."""
    t = fit_temperature(logits, labels)
    p = softmax(logits, t)
    pred, conf = p.argmax(1), p.max(1)
    right = (pred == labels) & (labels != (reject_class if reject_class is not None else -1))
    threshold = float(np.quantile(conf[right], 1 - keep)) if right.any() else 0.0
    decision = Decision(t, reject_class, round(threshold, 4), fitted_on)
    figures = {"temperature": t, "min_confidence": decision.min_confidence,
               "ece_before": expected_calibration_error(softmax(logits), labels)[0],
               "ece_after": expected_calibration_error(p, labels)[0], "n": int(len(labels))}
    return decision, figures
