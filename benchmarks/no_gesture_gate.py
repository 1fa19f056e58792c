"""Study: would a learned gate on the last layer's activity quieten the default on scenes that are no gesture?

The activity check (``training/decision/familiar.py``) is unsupervised: the distance of a window's spikes per channel
to the nearest class. On the validation people it catches almost none of the no-gesture windows the default claims
as a gesture (README, "The activity check's limit"). This fits a *supervised* gate instead, ``teach-bank --gate``'s
fit (:mod:`training.decision.gate`): logistic regression, "no gesture" against every gesture, on ``log(1 + spikes
per channel per bin)`` (the 64 numbers the simulator and the C export already count), on the feature bank's *fit*
part (training people only: gestures-v2's and gestures-v3's no-gesture recordings, walkers and hands at the lens
among them); then it sets the limit where 1, 2 or 5 % of the validation people's correctly named gesture windows
would be lost, and counts what it catches among the validation people's no-gesture windows that the app names a
gesture (at any confidence, and at ≥ 80 %). The network, and so the robustness grid, is untouched. Only validation
people are scored: nothing here is a test figure. About 10 s::

    .venv/bin/python benchmarks/no_gesture_gate.py [MODEL]
"""

from __future__ import annotations

import sys
from dataclasses import replace

from firmware_sim.features import windows_of
from firmware_sim.quantize import QuantConfig, quantize_checkpoint
from training.decision.familiar import pooled
from training.decision.gate import app_windows, fit_gate
from training.teach.readout import load_base, streaming_setup

DEFAULT = "models/zoo/gestures-sast-geometry10/model"


def main() -> None:
    base = sys.argv[1] if len(sys.argv) > 1 else DEFAULT
    model, _, decision, bank = load_base(base)
    decision = replace(decision, gate=None)  # what the model says without a gate (the default now carries one)
    fw = quantize_checkpoint(base, QuantConfig(8))
    n_hops, w = streaming_setup(decision, int(model.cfg.bin_us), bank.hop_bins)
    ng = decision.reject_class
    features, yf = windows_of(bank.recordings("fit"), n_hops, w)  # the fit needs the features alone
    xf = pooled(features, fw.layers[-1].out_shape[0])
    yv, _, av, cv, xv = app_windows(fw, decision, bank.recordings("validation"), n_hops, w)
    right = (yv != ng) & (av == yv)
    claims = (yv == ng) & (av >= 0)
    sure = claims & (cv >= 0.8)
    print(f"{base}: validation people, {int(right.sum())} gesture windows named right, {int((yv == ng).sum())} "
          f"no-gesture windows of which {int(claims.sum())} named a gesture, {int(sure.sum())} at >= 80 %")
    print("| gesture windows lost | limit | claims caught | claims at >= 80 % caught |")
    print("|---|---|---|---|")
    for lost in (0.01, 0.02, 0.05):
        gate = fit_gate(xf, yf, xv, right, ng, lost)  # the same fit each time; the limit moves
        print(f"| {lost:.0%} | {gate.limit:.3f} | {int(gate.closes(xv[claims]).sum())} of {int(claims.sum())} | "
              f"{int(gate.closes(xv[sure]).sum())} of {int(sure.sum())} |")


if __name__ == "__main__":
    main()
