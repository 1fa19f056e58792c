"""The window's central panels — events, timeline, prediction, spikes per layer, energy, SynOps and event rates —
laid out in one grid and rendered from one snapshot."""

from __future__ import annotations

from PyQt6 import QtWidgets

from sast_live.gui.energy import EnergyPanel
from sast_live.gui.timeline import Timeline
from sast_live.gui.views import EventView, PredictionPanel, RatePlot, SpikePanel


class Dashboard(QtWidgets.QWidget):
    """The panels; :meth:`update_view` draws a snapshot and computes nothing."""

    def __init__(self, session):
        super().__init__()
        self.session = session
        self.region_moved = None  # called with the region a user dragged to (the controls set it)
        grid = QtWidgets.QGridLayout(self)
        self.events = EventView()
        self.prediction = PredictionPanel(session.backend.classes)
        self.spikes = SpikePanel()
        self.synops_plot = RatePlot("SynOps/s", "#e8744c")
        self.rate_plot = RatePlot("events/s", "#4ce88a")
        self.timeline = Timeline(session)
        self.energy = EnergyPanel()
        self.grid = grid
        grid.addWidget(self.events, 0, 0, 2, 1)
        grid.addWidget(self.timeline, 2, 0)
        self._timeline_shown = True
        grid.addWidget(self.prediction, 0, 1)
        grid.addWidget(self.spikes, 1, 1, 2, 1)  # beside the timeline too: a 720-px screen has no room to stack
        grid.addWidget(self.energy, 3, 1)
        plots = QtWidgets.QHBoxLayout()  # the two rate plots side by side, under the event view
        plots.addWidget(self.synops_plot)
        plots.addWidget(self.rate_plot)
        grid.addLayout(plots, 3, 0)
        grid.setColumnStretch(0, 3)
        grid.setColumnStretch(1, 2)
        grid.setRowStretch(0, 4)  # the event view and the prediction
        grid.setRowStretch(1, 3)  # the event view and the spikes
        grid.setRowStretch(3, 1)  # the rate plots and the energy panel

    def update_view(self, snap) -> None:
        self.events.update_view(snap)
        pipeline = self.session.pipeline
        if pipeline is not None:
            self.events.show_mask(self.session.mask, pipeline.sensor_size, self.region_moved)
        self.prediction.update_view(snap)
        self.spikes.update_view(snap)
        self.energy.update_view(snap)
        self.timeline.update_view()
        self.energy.set_labelled(self.timeline.labelled_latency if self.timeline.truth else None)
        if self.timeline.isVisibleTo(self) != self._timeline_shown:  # no timeline (a live source): events fill in
            self._timeline_shown = self.timeline.isVisibleTo(self)
            self.grid.addWidget(self.events, 0, 0, 2 if self._timeline_shown else 3, 1)
        self.synops_plot.set_history(snap.history_age_s, snap.synops_rate_history, snap.dropped_history)
        self.rate_plot.set_history(snap.history_age_s, snap.event_rate_history)
