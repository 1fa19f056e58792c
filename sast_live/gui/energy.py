"""The energy panel: SynOps per layer, µJ per inference and mW at the current event rate, all estimates at the
session's pJ per SynOp, and the decision latency from the latest gesture onset."""

from __future__ import annotations

from PyQt6 import QtWidgets

from sast_live.gui.frames import activity_onset
from sast_live.gui.views import steady


class EnergyPanel(QtWidgets.QGroupBox):
    """Figures from each snapshot. The latency is measured when the app's answer turns from "no gesture" to a
    gesture: from the first bin of the burst of events that led to it (:func:`~sast_live.gui.frames.activity_onset`
    over the last 3 s) to the bin the answer came in."""

    def __init__(self):
        super().__init__("Energy (estimated)")
        form = QtWidgets.QFormLayout(self)
        self.per_layer = QtWidgets.QLabel("—")
        self.per_inference = QtWidgets.QLabel("—")
        self.power = QtWidgets.QLabel("—")
        self.total = QtWidgets.QLabel("—")
        self.latency = QtWidgets.QLabel("—")
        for label, widget in (("SynOps/s per layer", self.per_layer), ("per inference", self.per_inference),
                              ("power", self.power), ("since start", self.total),
                              ("decision latency", self.latency)):
            steady(widget)
            form.addRow(label, widget)
        self._verdict = -1
        self.last_latency_s: float | None = None

    def update_view(self, snap) -> None:
        pj = snap.pj_per_synop
        self.setTitle(f"Energy (estimated at {pj:g} pJ/SynOp)")
        per_s = snap.layer_synops_per_s
        if per_s is not None and len(per_s):
            names = ["in"] + [f"L{i + 1}" for i in range(len(per_s) - 1)]
            self.per_layer.setText("  ".join(f"{n}→ {v / 1e3:,.0f}k" for n, v in zip(names, per_s, strict=True)))
        win = snap.last_window
        if win is not None:
            ms = (win.t_end_us - win.t_start_us) / 1e3
            self.per_inference.setText(f"{win.synops * pj * 1e-6:,.2f} µJ  ({win.synops:,} SynOps, {ms:.0f} ms "
                                       "window)")
        self.power.setText(f"{snap.synops_per_s * pj * 1e-9:,.3f} mW at {snap.event_rate / 1e3:,.1f} k events/s")
        self.total.setText(f"{snap.energy_uj:,.1f} µJ ({snap.synops_total:,} SynOps)")
        if snap.verdict >= 0 and self._verdict < 0:  # the answer just turned to a gesture
            onset = activity_onset(snap.events_history)
            if onset is not None:
                self.last_latency_s = (len(snap.events_history) - onset) * snap.bin_us * 1e-6
                self.latency.setText(f"{self.last_latency_s * 1e3:,.0f} ms from the onset of "
                                     f"{snap.verdict_name.replace('_', ' ')}")
        self._verdict = snap.verdict
