"""From runs of bins to predictions: the window under way, its bookkeeping, and the prediction it ends in.

By default (``hop_bins=None``) a window is the model's ``n_bins`` bins with fresh network state, as in training,
one after the other. With ``hop_bins=h`` (the live app: 250 ms) the network state runs on and a prediction comes
every ``h`` bins over the last window: the readout is taken (and cleared, as a sensor would) every hop, and a
window's readout is the sum of its last ``window_bins / h`` hops — the same mean readout the network was trained
on, at 1× the compute (no overlapping copies of the network). With ``taper="linear"`` the hops are weighted 1, 2,
…, n from the oldest to the newest (the readout becomes Σ wₖ·accₖ / Σ wₖ·stepsₖ: still a mean readout, but the
last half-window holds 70 % of the weight of a 4-hop window), so a gesture that just started outweighs the one
before it sooner — a leaky readout the host computes from the hops the sensor reports, with no change on the
sensor. Each prediction goes through the model's :class:`~models.decision.Decision` (calibrated confidences,
"no gesture" as class −1).
"""

from __future__ import annotations

from collections import deque
from typing import NamedTuple

import numpy as np

from models.decision import energy, verdict_name
from sast_live.pipeline.snapshot import WindowResult


def hop_weights(n: int, taper: str) -> np.ndarray:
    """Integer weights of a streaming window's ``n`` hops, oldest first: all 1 (``flat``) or 1…n (``linear``)."""
    return np.ones(n, np.int64) if taper == "flat" else np.arange(1, n + 1, dtype=np.int64)


class Segment(NamedTuple):
    """A window (or, streaming, a hop) under way: its start (µs of stream time), bins in it, of which run and
    dropped, and the events and SynOps in them."""

    start: int
    bins: int = 0
    run: int = 0
    dropped: int = 0
    events: int = 0
    synops: int = 0


class Windows:
    """The windows of one backend over a stream (one worker thread). ``bin_us`` turns bins into stream time.

    Attributes:
        hop_bins: bins per prediction while streaming, or None (back-to-back windows).
        segment: the window (or hop) under way, or None between them.
        hops: streaming: the last hops' ``(segment, readout accumulators, readout steps, last-layer spikes per
            channel)``, oldest first.
    """

    def __init__(self, backend, bin_us: int, hop_bins: int | None, window_bins: int | None, taper: str):
        self.backend, self.bin_us, self.taper = backend, int(bin_us), taper
        self.hop_bins = hop_bins
        self.window_bins = window_bins or backend.n_bins
        # streaming: a window is the last round(window / hop) hops
        self.hops: deque = deque(maxlen=max(1, round(self.window_bins / hop_bins)) if hop_bins else 1)
        self.segment: Segment | None = None
        self.last_run = 0  # bins the last closed segment ran (its confidences stay shown until the next opens)
        backend.reset()  # new windows (a stream's start, a model switch) start from fresh network state

    @property
    def length(self) -> int:
        """Bins in a segment: a hop while streaming, else the model's window."""
        return self.hop_bins or self.backend.n_bins

    def open(self, t0: int) -> None:
        """Start a window (or a hop) at ``t0``; the network state is fresh for a window (a hop runs on)."""
        self.segment = Segment(int(t0))
        self.last_run = 0
        if self.hop_bins is None:
            self.backend.reset()
            self.hops.clear()

    def add(self, bins: int, run: int, dropped: int, events: int, synops: int) -> None:
        s = self.segment
        self.segment = Segment(s.start, s.bins + bins, s.run + run, s.dropped + dropped, s.events + events,
                               s.synops + synops)

    @property
    def run(self) -> int:
        """Bins run of the segment under way, or of the last one until the next opens."""
        return self.segment.run if self.segment is not None else self.last_run

    @property
    def full(self) -> bool:
        return self.segment is not None and self.segment.bins == self.length

    def close(self, partial: bool) -> tuple[WindowResult, np.ndarray] | None:
        """End the segment under way: a window's prediction and its probabilities, or None (streaming: a hop
        banked before the window is full; a tail of silence; a window whose every bin was dropped — the network
        never saw it)."""
        s, self.segment = self.segment, None
        if s is None:
            return None
        self.last_run = s.run
        if self.hop_bins is not None:
            self.hops.append((s, *self.backend.take_readout()))
            if not (len(self.hops) == self.hops.maxlen or partial):
                return None
            return self.of_hops(partial)
        if s.run == 0 or (partial and s.events == 0):
            return None
        return self._result(self.backend.logits(), self.backend.scores(), s.start, s.start + s.bins * self.bin_us,
                            s, partial, self.backend.channels() / max(s.run, 1), self.backend.cells() / max(s.run, 1))

    def of_hops(self, partial: bool) -> tuple[WindowResult, np.ndarray] | None:
        """Streaming: the window over the hops banked so far."""
        segments, accs, steps, channels, cells = zip(*self.hops, strict=True)
        total = Segment(segments[0].start, sum(h.bins for h in segments), sum(h.run for h in segments),
                        sum(h.dropped for h in segments), sum(h.events for h in segments),
                        sum(h.synops for h in segments))
        if total.run == 0 or (partial and total.events == 0):
            return None
        w = hop_weights(len(accs), self.taper)
        acc = w @ np.asarray(accs)  # (hops,) · (hops, n_classes)
        end = segments[-1].start + segments[-1].bins * self.bin_us
        n = int(np.dot(w, steps))  # the window's weighted bins: the readout and the features are means per bin
        return self._result(self.backend.to_logits(acc, n), acc, total.start, end, total,
                            total.bins < self.hops.maxlen * self.hop_bins, w @ np.asarray(channels) / max(n, 1),
                            w @ np.asarray(cells) / max(n, 1))

    def _result(self, logits, scores, t_start, t_end, s: Segment, partial,
                channels, cells) -> tuple[WindowResult, np.ndarray]:
        rate = s.events / max((t_end - t_start) * 1e-6, 1e-9)  # events per second: the input-statistics check
        decision = self.backend.decision
        k, conf, probs = decision.decide(logits, rate, channels, cells)
        top = int(np.argmax(probs))
        classes = self.backend.classes
        res = WindowResult(int(t_start), int(t_end), k, verdict_name(k, classes),
                           tuple(np.asarray(scores).tolist()), conf, int(s.synops), int(s.events), int(s.run),
                           int(s.dropped), partial, top, classes[top],
                           float(energy(logits, decision.temperature)), decision.distance(channels))
        return res, probs

    def end_of_stream(self, got_any: bool) -> tuple[WindowResult, np.ndarray] | None:
        """The stream ended: the segment under way is reported (partial if short); a stream shorter than one
        streaming window that ended on a hop boundary gives its prediction over the hops so far (partial)."""
        if self.segment is not None and self.segment.bins:
            return self.close(partial=self.segment.bins < self.length)
        self.segment = None
        if self.hop_bins is not None and self.hops and len(self.hops) < self.hops.maxlen and not got_any:
            return self.of_hops(partial=True)
        return None
