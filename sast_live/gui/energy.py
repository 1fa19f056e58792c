"""The energy panel: SynOps per layer, µJ per inference and mW at the current event rate, all estimates at the
session's pJ per SynOp, and the decision latency from the latest gesture onset."""

from __future__ import annotations

from PyQt6 import QtWidgets

from sast_live.gui.views import ElidedLabel


class EnergyPanel(QtWidgets.QGroupBox):
    """Figures from each snapshot. The decision latency is the pipeline's (:mod:`sast_live.pipeline.telemetry`):
    from the first bin of the burst of events that led to a gesture to the answer naming it."""

    def __init__(self):
        super().__init__("Energy (estimated)")
        form = QtWidgets.QFormLayout(self)
        form.setVerticalSpacing(2)
        self.per_layer = ElidedLabel("—")
        self.per_inference = ElidedLabel("—")
        self.power = ElidedLabel("—")
        self.latency = ElidedLabel("—")
        self.labelled = ElidedLabel("—")  # from the labels file: the latest labelled gesture's latency
        for label, widget in (("SynOps/s per layer", self.per_layer), ("per inference", self.per_inference),
                              ("power", self.power),
                              ("decision latency", self.latency), ("labelled latency", self.labelled)):
            form.addRow(label, widget)
        self.last_latency_s: float | None = None
        self.form = form
        form.setRowVisible(self.labelled, False)

    def set_labelled(self, text: str | None) -> None:
        """The latest labelled gesture's latency in words (the timeline's score), or None: no labels, no row."""
        if (text is not None) != self.labelled.isVisibleTo(self):
            self.form.setRowVisible(self.labelled, text is not None)
        if text is not None:
            self.labelled.setText(text)

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
        if snap.decision_latency_s != self.last_latency_s:  # None: no onset, or it went stale
            self.last_latency_s = snap.decision_latency_s
            self.latency.setText("—" if snap.decision_latency_s is None else
                                 f"{snap.decision_latency_s * 1e3:,.0f} ms from the onset of "
                                 f"{snap.classes[snap.latency_class].replace('_', ' ')}")
