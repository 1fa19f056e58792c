"""Study: would a learned gate on the last layer's activity quieten the default on scenes that are no gesture?

The activity check (``training/decision/familiar.py``) is unsupervised: the distance of a window's spikes per channel
to the nearest class. On the validation people it catches almost none of the no-gesture windows the default claims
as a gesture (README, "The activity check's limit"). This fits a *supervised* gate instead — logistic regression,
"no gesture" against every gesture, on ``log(1 + spikes per channel per bin)`` (the 64 numbers the simulator and
the C export already count) — on the feature bank's *fit* part (training people only: gestures-v2's and
gestures-v3's no-gesture recordings, walkers and hands at the lens among them), then sets its limit where 1, 2 or
5 % of the validation people's correctly named gesture windows would be lost, and counts what it catches among the
validation people's no-gesture windows that the app names a gesture (at any confidence, and at ≥ 80 %). The
network, and so the robustness grid, is untouched. Only validation people are scored: nothing here is a test
figure. About 10 s::

    .venv/bin/python benchmarks/no_gesture_gate.py [MODEL]
"""

from __future__ import annotations

import sys

import numpy as np
from sklearn.linear_model import LogisticRegression

from firmware_sim.features import window_features, window_scores
from firmware_sim.quantize import QuantConfig, quantize_checkpoint
from training.decision.familiar import pooled
from training.teach.readout import load_base, streaming_setup

DEFAULT = "models/zoo/gestures-sast-geometry10/model"


def windows(fw, decision, recordings, n_hops: int, weights: np.ndarray):
    """Every full streaming window of ``recordings``: (label, app's answer, its confidence, spikes per channel)."""
    rows = []
    for counts, bins, label in recordings:
        scores = window_scores(fw, counts, bins, n_hops, weights)
        if not len(scores):
            continue
        steps = [int(weights @ bins[e - n_hops:e]) for e in range(n_hops, len(bins) + 1)]
        logits = np.stack([fw.to_logits(acc, n) for acc, n in zip(scores, steps, strict=True)])
        channels = pooled(window_features(counts, bins, n_hops, weights), fw.layers[-1].out_shape[0])
        k, conf = decision.decide_many(logits, None, channels)
        rows += [(label, int(a), float(c), ch) for a, c, ch in zip(k, conf, channels, strict=True)]
    labels, answers, conf, channels = zip(*rows, strict=True)
    return np.array(labels), np.array(answers), np.array(conf), np.stack(channels)


def main() -> None:
    base = sys.argv[1] if len(sys.argv) > 1 else DEFAULT
    model, _, decision, bank = load_base(base)
    fw = quantize_checkpoint(base, QuantConfig(8))
    n_hops, w = streaming_setup(decision, int(model.cfg.bin_us), bank.hop_bins)
    ng = decision.reject_class
    yf, _, _, xf = windows(fw, decision, bank.recordings("fit"), n_hops, w)
    yv, av, cv, xv = windows(fw, decision, bank.recordings("validation"), n_hops, w)
    gate = LogisticRegression(C=1.0, max_iter=5000, class_weight="balanced").fit(np.log1p(xf), (yf == ng).astype(int))
    p = gate.predict_proba(np.log1p(xv))[:, 1]
    right = (yv != ng) & (av == yv)
    claims = (yv == ng) & (av >= 0)
    sure = claims & (cv >= 0.8)
    print(f"{base}: validation people, {int(right.sum())} gesture windows named right, {int((yv == ng).sum())} "
          f"no-gesture windows of which {int(claims.sum())} named a gesture, {int(sure.sum())} at >= 80 %")
    print("| gesture windows lost | limit | claims caught | claims at >= 80 % caught |")
    print("|---|---|---|---|")
    for lost in (0.01, 0.02, 0.05):
        limit = float(np.quantile(p[right], 1 - lost))
        print(f"| {lost:.0%} | {limit:.3f} | {int((p[claims] > limit).sum())} of {int(claims.sum())} | "
              f"{int((p[sure] > limit).sum())} of {int(sure.sum())} |")


if __name__ == "__main__":
    main()
