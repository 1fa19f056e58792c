"""Study: which features should the no-gesture gate read? Validation people only (nothing here is a test figure).

The first gate (``benchmarks/no_gesture_gate.py``) reads ``log(1 + spikes per channel per bin)`` and sets its limit on
windows at the nominal geometry. This fits each form on the default's feature bank — its fit part, and with
"+ negatives" also its negatives part (every training person's no-gesture recordings of the four pools, each also
once moved: ``teach-bank --gate-negatives``) — sets each limit where 2 % of the validation people's correctly named
streaming gesture windows close, and reports on the validation people:

* the bank's validation no-gesture windows the app claims at >= 80 % that the gate catches;
* the validation people's no-gesture recordings of the four pools, each streamed whole: windows still at >= 80 %;
* the share of correctly named gesture windows it closes at each of the grid's ten off-nominal points (the bank's
  validation picks moved, resized, turned or re-timed as ``evaluate --robustness`` does), mean and worst.

Forms: ``channels`` (the first), ``channels+cells`` (also the last layer's spikes per position, sorted: how spread,
not where — the second, shipped), and for contrast the channels with the activity per column of the view,
unsorted (where the activity is: it catches more at the nominal geometry because it learns where the people stand,
and closes gestures of people who stand elsewhere). About 2 minutes on 2 cores::

    .venv/bin/python benchmarks/no_gesture_gate_forms.py [MODEL]
"""

from __future__ import annotations

import sys
from dataclasses import replace

import numpy as np
from tqdm import tqdm

from firmware_sim.features import windows_of
from firmware_sim.precisions import DEPLOYED
from firmware_sim.quantize import QuantConfig, quantize_checkpoint
from models.checkpoint.weights import load_model
from sast_live.formats.registry import read_events
from sast_live.transforms.geometry import Warp, warp
from training.convex.dictionary import hidden_firmware
from training.data.resolve import resolve_split
from training.data.validation import split_validation
from training.decision.familiar import cells, pooled
from training.decision.gate import app_windows, fit_gate, logistic_fit
from training.teach.bank import bank_picks, take_hops
from training.teach.readout import load_base, streaming_setup

DEFAULT = "models/zoo/gestures-sast-geometry10/model"
NG = "gestures-v2:no_gesture+gestures-v2-seed1:no_gesture+gestures-v2-seed2:no_gesture+gestures-v3:no_gesture"
POINTS = {"shift -20": Warp(shift=(-20, 0)), "shift +20": Warp(shift=(20, 0)), "scale 0.6": Warp(scale=0.6),
          "scale 0.75": Warp(scale=0.75), "scale 1.25": Warp(scale=1.25), "scale 1.5": Warp(scale=1.5),
          "rotation -15": Warp(rotation=-15), "rotation +15": Warp(rotation=15), "speed 0.6": Warp(speed=0.6),
          "speed 1.6": Warp(speed=1.6)}


def columns(c: np.ndarray) -> np.ndarray:
    """Spikes per position (N, 16) of the 4×4 last layer → per column (N, 4), left to right."""
    return c.reshape(len(c), 4, 4).sum(1)


class Columns:
    """The contrast: a gate on the channels and *where* across the view the activity is (its columns, unsorted),
    fitted as the second form is."""

    def __init__(self, fx, fc, fy, reject, vx, vc, right):
        x = np.hstack([np.log1p(fx), np.log1p(columns(fc))])
        self.mu, self.sd = x.mean(0), np.where(x.std(0) > 1e-9, x.std(0), 1.0)
        self.w, self.b = logistic_fit((x - self.mu) / self.sd, fy == reject)
        self.limit = float(np.quantile(self.probability(vx[right], vc[right]), 0.98))

    def probability(self, x, c):
        z = ((np.hstack([np.log1p(x), np.log1p(columns(c))]) - self.mu) / self.sd) @ self.w + self.b
        return 1.0 / (1.0 + np.exp(-z))

    def closes(self, x, c):
        return self.probability(x, c) > self.limit


def main() -> None:
    base = sys.argv[1] if len(sys.argv) > 1 else DEFAULT
    net_, _, decision, bank = load_base(base)
    decision = replace(decision, gate=None)  # what the network says; each gate is fitted here
    fw = quantize_checkpoint(base, QuantConfig(8))
    net, _ = load_model(base)
    cfg = net.cfg
    sim = hidden_firmware(net, DEPLOYED)
    n_hops, w = streaming_setup(decision, int(cfg.bin_us), bank.hop_bins)
    ng, n_c = decision.reject_class, fw.layers[-1].out_shape[0]

    def recordings(pairs, geometry=None):
        out = []
        for k, (ds, i) in enumerate(pairs):  # each recording moved with its own seed, as evaluate's grid does
            ev = read_events(ds.files[i])
            c, b = take_hops(sim, ev if geometry is None else warp(ev, cfg.sensor_size, geometry, seed=k), cfg,
                             bank.hop_bins)
            out.append((c, b, int(ds.labels[i])))
        return out

    ff, fy = windows_of(bank.recordings("fit"), n_hops, w)
    nf, ny = windows_of(bank.recordings("negatives"), n_hops, w)
    if not len(ny):
        sys.exit(f"{base}'s bank has no negatives part: teach-bank --check-only --gate-negatives '{NG}' first")
    val = app_windows(fw, decision, bank.recordings("validation"), n_hops, w)
    right = (val.labels != ng) & (val.answers == val.labels)
    sure = (val.labels == ng) & (val.answers >= 0) & (val.confidence >= 0.8)
    _, vds, _ = split_validation(resolve_split(NG, "train", progress=False), 0.13)
    streamed = app_windows(fw, decision, recordings([(vds, i) for i in range(len(vds))]), n_hops, w)
    s_sure = (streamed.answers >= 0) & (streamed.confidence >= 0.8)
    _, picked = bank_picks(base, cfg, progress=False)
    picks = [(ds, i) for part, ds, i in picked if part == "validation"]
    moved = {}
    for name, geometry in tqdm(POINTS.items(), desc="grid points", unit="point"):
        a = app_windows(fw, decision, recordings(picks, geometry), n_hops, w)
        named = (a.labels != ng) & (a.answers == a.labels)
        moved[name] = (a.channels[named], a.cells[named])

    gates = {}
    for form, more in (("channels", False), ("channels+cells", False), ("channels", True), ("channels+cells", True)):
        x, y = (np.vstack([ff, nf]), np.concatenate([fy, ny])) if more else (ff, fy)
        gates[form + (" + negatives" if more else "")] = fit_gate(
            pooled(x, n_c), y, val.channels, right, ng, 0.02, fit_cells=cells(x, n_c), val_cells=val.cells,
            features=form)
    gates["channels + columns (where, unsorted)"] = Columns(pooled(ff, n_c), cells(ff, n_c), fy, ng, val.channels,
                                                            val.cells, right)
    print(f"{base}, validation people: {int(right.sum())} gesture windows named right; the bank's {int(sure.sum())} "
          f"no-gesture windows claimed at >= 80 %; {len(streamed.labels)} streamed no-gesture windows, "
          f"{int(s_sure.sum())} at >= 80 % without a gate")
    print("| gate | claims at >= 80 % caught | streamed windows at >= 80 % left | closed off-nominal, mean (worst) |")
    print("|---|---|---|---|")
    for name, gate in gates.items():
        off = [float(gate.closes(*moved[p]).mean()) for p in POINTS]
        worst = max(POINTS, key=lambda p: gate.closes(*moved[p]).mean())
        print(f"| {name} | {int(gate.closes(val.channels[sure], val.cells[sure]).sum())} of {int(sure.sum())} | "
              f"{int((s_sure & ~gate.closes(streamed.channels, streamed.cells)).sum())} | {np.mean(off):.1%} "
              f"({max(off):.1%}, {worst}) |")


if __name__ == "__main__":
    main()
