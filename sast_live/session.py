"""The GUI's model of what is running, without Qt: one source, one pipeline, one runner, an optional recorder.

Every user action (open a file or port, change speed, precision or model, record) is a method here, so it
can be tested without a window; the window only calls these and renders :meth:`Session.latest`.
"""

from __future__ import annotations

import threading

from sast_live.app import Recorder
from sast_live.errors import SastLiveError
from sast_live.pipeline import Pipeline, Runner, load_backend
from sast_live.sources import open_source


class Session:
    def __init__(self, model: str | None = None, precision: str = "int8", speed: float | None = 1.0,
                 loop: bool = True, protocol: str = "edvs", pj_per_synop: float | None = None):
        self.model, self.precision, self.speed, self.loop = model, precision, speed, loop
        self.protocol, self.pj = protocol, pj_per_synop
        self.backend = load_backend(model, precision)
        self.source = self.pipeline = self.runner = self.recorder = None
        self.spec: str | None = None
        self.message = ""  # the last thing worth telling the user (errors, records written)
        self._loading = threading.Lock()

    # -- sources ------------------------------------------------------------------------------------------
    def open(self, spec: str) -> None:
        """Stop what runs and start ``spec`` (file path, serial:PORT, edvs:PORT, framed:PORT, dv:, synthetic:…)."""
        source = open_source(spec, speed=self.speed, loop=self.loop, protocol=self.protocol)
        source.open()  # a port that cannot be opened fails here, before the running stream is stopped
        self.stop()
        kwargs = {} if self.pj is None else {"pj_per_synop": self.pj}
        try:
            self.pipeline = Pipeline(self.backend, source.sensor_size, source.describe(), realtime=source.realtime,
                                     **kwargs)
        except SastLiveError:
            source.close()
            raise
        self.source, self.spec = source, spec
        self.runner = Runner(source, self.pipeline).start()

    def stop(self) -> None:
        self.stop_recording()
        if self.runner is not None:
            self.runner.stop()
        self.runner = self.source = None

    def latest(self):
        return None if self.runner is None else self.runner.latest()

    # -- transport ----------------------------------------------------------------------------------------
    @property
    def can_pace(self) -> bool:
        return hasattr(self.source, "set_speed")

    def set_speed(self, speed: float | None) -> None:
        self.speed = speed
        if self.can_pace:
            self.source.set_speed(speed)

    def set_paused(self, paused: bool) -> None:
        if self.can_pace:
            self.source.set_paused(paused)

    def set_loop(self, loop: bool) -> None:
        self.loop = loop
        if hasattr(self.source, "loop"):
            self.source.loop = loop

    # -- model --------------------------------------------------------------------------------------------
    def set_model(self, model: str | None, precision: str, done=None) -> None:
        """Load on a helper thread (torch takes seconds), then switch at the next bin; ``done(error)`` after."""

        def work():
            with self._loading:
                try:
                    backend = load_backend(model, precision)
                    if self.pipeline is not None:
                        self.pipeline.check_backend(backend)  # geometry and binning must match the stream
                        self.pipeline.set_backend(backend)
                    self.backend, self.model, self.precision = backend, model, precision
                    err = None
                except SastLiveError as exc:
                    err = str(exc)
                self.message = err or f"running {backend.label}"
                if done is not None:
                    done(err)

        threading.Thread(target=work, name="sast-model-load", daemon=True).start()

    # -- recording ----------------------------------------------------------------------------------------
    def start_recording(self, path: str) -> None:
        if self.runner is None:
            raise SastLiveError("nothing is running to record")
        self.recorder = Recorder(path, self.source.sensor_size)
        self.runner.tap = self.recorder.write

    def stop_recording(self) -> tuple[int, int] | None:
        rec, self.recorder = self.recorder, None
        if rec is None:
            return None
        if self.runner is not None:
            self.runner.tap = None
        n, size = rec.finish()
        self.message = f"recorded {n} events ({size} bytes) to {rec.path}"
        return n, size
