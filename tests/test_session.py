"""The one assembly point (sast_live/session.py): every source option reaches every mode, changes to the pipeline
run on its worker thread, the noise filters as pipeline options."""

from __future__ import annotations

import io
import json
import threading
import time

import numpy as np
import pytest

from firmware_sim.precisions import PRECISIONS
from main import build_parser
from sast_live.commands import pipeline_options, source_options
from sast_live.errors import SastLiveError
from sast_live.events import SensorSize
from sast_live.formats.registry import read_events, write_events
from sast_live.headless import run_headless
from sast_live.pipeline import Pipeline, Runner, load_backend
from sast_live.pipeline.options import TRAINING_WINDOWS
from sast_live.session import PipelineOptions, Session, SourceOptions
from sast_live.sources import FileSource
from sast_live.transforms import filters
from sast_live.transforms.config import DenoiseConfig, RefractoryConfig
from tests.test_wire import DEMO

SOURCE_FLAGS = ["--speed", "2", "--loop", "--protocol", "framed", "--baud", "115200", "--sensor-size", "64x48",
                "--reconnect-s", "0.5"]
WANT = SourceOptions(speed=2.0, loop=True, protocol="framed", baud=115200, sensor_size=(64, 48), reconnect_s=0.5)


@pytest.fixture(scope="module")
def demo():
    ev = read_events(DEMO)
    return ev[ev["t"] < 2_500_000]


@pytest.fixture(scope="module")
def int8():
    return load_backend(None, PRECISIONS["int8"])


@pytest.mark.parametrize("argv", [["gui", "x.raw"], ["replay", "x.raw", "--headless"], ["live", "/dev/ttyX"],
                                  ["record", "x.raw", "out.npy"]])
def test_every_source_option_reaches_every_mode(argv):
    args = build_parser().parse_args(argv + SOURCE_FLAGS)
    assert source_options(args) == WANT


def test_source_defaults_per_mode():
    parse = build_parser().parse_args
    assert source_options(parse(["replay", "x.raw"])).speed is None  # a file as fast as possible
    assert source_options(parse(["gui", "x.raw"])).speed == 1.0
    assert source_options(parse(["replay", "x.raw", "--speed", "0"])).speed is None
    args = parse(["gui", "--denoise", "--denoise-us", "5000", "--refractory-us", "300", "--precision", "wide"])
    assert pipeline_options(args) == PipelineOptions(precision="wide", denoise_us=5000, refractory_us=300)
    assert pipeline_options(parse(["gui", "--denoise-us", "5000"])).denoise_us is None  # only with --denoise


def test_source_options_configure_the_serial_source():
    src = WANT.open("serial:loop://")
    assert (src.protocol, src.baud, src.reconnect_s, src.port) == ("framed", 115200, 0.5, "loop://")
    assert src.sensor_size == (64, 48)
    assert SourceOptions(protocol="edvs").open("framed:/dev/x").protocol == "framed"  # the prefix wins


@pytest.mark.parametrize("sources,options,match", [
    (dict(speed=-1.0), {}, "--speed must be a positive factor"),
    (dict(baud=0), {}, "--baud must be a positive rate"),
    ({}, dict(precision="int3"), "unknown precision 'int3'"),
    ({}, dict(denoise_us=0), "--denoise-us must be a positive"),
    ({}, dict(refractory_us=-5), "--refractory-us must be ≥ 0"),
    ({}, dict(pj_per_synop=-1.0), "pJ per SynOp must be ≥ 0"),
])
def test_impossible_options_are_clear_errors(sources, options, match):
    with pytest.raises(SastLiveError, match=match):
        SourceOptions(**sources)
        PipelineOptions(**options)


def test_headless_session_equals_the_pipeline_fed_in_the_calling_thread(demo, int8, tmp_path):
    """The threaded session of an unpaced file processes every chunk in order: the same windows as the
    pipeline stepped by hand over the same source (watermarks included)."""
    path = tmp_path / "clip.npy"
    write_events(path, demo, (128, 128))
    out = io.StringIO()
    got = run_headless(Session(SourceOptions(speed=None), PipelineOptions()), path, out=out)
    app = PipelineOptions()  # the app's streaming: every 250 ms over the window stored in the model's decision
    pipe = Pipeline(int8, SensorSize(128, 128), app)
    want = []
    with FileSource(path, speed=None) as src:
        for chunk in src:
            want += pipe.process(chunk, src.clock_us())
    want += pipe.finish()
    assert [w.as_json() for w in got] == [w.as_json() for w in want]
    # a prediction every 250 ms over the last window, once the first window is in
    window_us = (app.window_bins(int8) or int8.n_bins) * int8.bin_cfg.bin_us
    full = [w for w in got if not w.partial]
    assert len(full) >= 6 and all(w.t_end_us - w.t_start_us == window_us for w in full)
    assert all(b.t_end_us - a.t_end_us == 250_000 for a, b in zip(full, full[1:], strict=False))
    assert [json.loads(line) for line in out.getvalue().splitlines()] == [w.as_json() for w in want]


def test_queued_chunks_of_a_waiting_source_are_processed_together_with_the_same_windows(demo, int8, tmp_path):
    """A file at max speed queues slices faster than they are processed: the worker takes up to ``MERGE`` of them
    in one pipeline call (less Python under the GIL the window paints with); windows and counts are unchanged."""
    from sast_live.pipeline import runner as runner_mod

    path = tmp_path / "clip.npy"
    write_events(path, demo, (128, 128))
    with FileSource(path, speed=None) as src:
        items = [(chunk, src.clock_us(), 0.0, False) for chunk in src]
    want_pipe = Pipeline(int8, SensorSize(128, 128), TRAINING_WINDOWS)
    want = [w for chunk, mark, _, _ in items for w in want_pipe.process(chunk, mark)] + want_pipe.finish()

    pipe = Pipeline(int8, SensorSize(128, 128), TRAINING_WINDOWS)
    calls = []
    process = pipe.process
    pipe.process = lambda chunk, *a, **k: calls.append(len(chunk)) or process(chunk, *a, **k)
    src = FileSource(path, speed=None)
    seen = []
    runner = Runner(src, pipe, on_window=seen.append)
    for item in items:
        runner.queue.put(item)
    runner.queue.put(runner_mod._END)
    assert runner.step() is False
    assert len(items) > 2 * runner_mod.MERGE and len(calls) == -(-len(items) // runner_mod.MERGE)
    assert sum(calls) == sum(len(c) for c, _, _, _ in items)
    assert [w.as_json() for w in seen] == [w.as_json() for w in want] and len(want) >= 3
    assert runner.latest().events_total == want_pipe.snapshot().events_total


def test_set_model_switches_on_the_worker_thread(int8):
    """The loader thread only loads; check_backend and set_backend run on the pipeline's worker."""
    calls = []

    class Watched(Pipeline):
        def check_backend(self, backend):
            calls.append(("check", threading.current_thread().name))
            super().check_backend(backend)

        def set_backend(self, backend, *streaming):
            calls.append(("set", threading.current_thread().name))
            super().set_backend(backend, *streaming)

    session = Session(SourceOptions(speed=2.0, loop=True))
    session.open(str(DEMO))
    try:
        # the worker keeps its pipeline; swap in the watched class so the calls are seen
        session.pipeline.__class__ = Watched
        done = threading.Event()
        errors = []
        session.set_model(None, "int4", done=lambda err: (errors.append(err), done.set()))
        assert done.wait(60) and errors == [None]
        assert sorted(calls) == [("check", "sast-pipeline"), ("set", "sast-pipeline")]
        deadline = time.monotonic() + 30
        while ((snap := session.latest()) is None or "int4" not in snap.backend) and time.monotonic() < deadline:
            time.sleep(0.05)  # the switch may come before the worker's first snapshot
        assert "int4" in snap.backend and session.options.precision.name == "int4"
        # a model that does not fit the stream is refused on the worker, and the stream runs on
        done.clear()
        session.set_model(None, "nope", done=lambda err: (errors.append(err), done.set()))
        assert done.wait(60) and "unknown precision 'nope'" in errors[-1]
        assert session.options.precision.name == "int4" and session.latest().error is None
    finally:
        session.stop()


def test_runner_call_runs_on_the_caller_once_the_worker_has_ended(int8):
    src = FileSource(DEMO, speed=None)
    runner = Runner(src, Pipeline(int8, src.sensor_size, TRAINING_WINDOWS)).start()
    assert runner.wait(60)
    runner.stop()
    seen = []
    runner.call(lambda pipe: seen.append((pipe, threading.current_thread().name)), then=seen.append)
    assert seen == [(runner.pipeline, threading.current_thread().name), None]

    def refuse(pipe):
        raise SastLiveError("no")

    runner.call(refuse, then=seen.append)
    assert seen[-1] == "no"


# 20 ms: longer than the model's own 10-ms refractory filter (a shorter one would remove nothing more)
@pytest.mark.parametrize("denoise_us,refractory_us", [(5_000, None), (None, 20_000), (10_000, 1_000)])
def test_pipeline_filters_are_the_filter_functions_carried_across_chunks(demo, int8, denoise_us, refractory_us):
    """Filtered in the pipeline, fed in chunks == the filter functions over the whole stream, then the pipeline
    without filters; the removed events are counted."""
    from tests.test_pipeline import model_input

    size = SensorSize(128, 128)
    kept = model_input(demo, int8)  # the model's own input filter runs first, always
    if refractory_us is not None:
        kept, _ = filters.refractory(kept, None, RefractoryConfig(size, refractory_us))
    if denoise_us is not None:
        kept, _ = filters.denoise(kept, None, DenoiseConfig(size, denoise_us))
    plain = Pipeline(int8, size, TRAINING_WINDOWS)
    want = plain.process(kept) + plain.finish()
    pipe = Pipeline(int8, size, PipelineOptions(hop_ms=0, denoise_us=denoise_us, refractory_us=refractory_us))
    got = []
    for part in np.array_split(demo, 37):
        got += pipe.process(part)
    got += pipe.finish()
    assert [w.as_json() for w in got] == [w.as_json() for w in want]
    snap = pipe.snapshot()
    assert snap.events_in == len(demo) and snap.events_filtered == len(demo) - len(kept) > 0
    assert snap.filters and sum(w.synops for w in got) < sum(w.synops for w in run_plain(int8, demo))


def run_plain(backend, events):
    pipe = Pipeline(backend, SensorSize(128, 128), TRAINING_WINDOWS)
    return pipe.process(events) + pipe.finish()


def test_filters_switch_on_in_a_running_session():
    session = Session(SourceOptions(speed=5.0, loop=True))
    session.open(str(DEMO))
    try:
        done = threading.Event()
        session.set_filters(10_000, 1_000, done=lambda err: done.set())
        assert done.wait(30) and session.options.filters_on and session.message == "noise filters on"
        deadline = time.monotonic() + 30
        # ``done`` is called as the change is made on the worker; the first snapshot with it follows
        while ((snap := session.latest()) is None or not snap.filters.endswith("denoise 10000 µs")
               or snap.events_filtered == 0) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert snap.filters.endswith("refractory 1000 µs + denoise 10000 µs") and snap.events_filtered > 0
    finally:
        session.stop()


class SlowBackend:
    """A backend that needs ``seconds`` per bin (an overloaded host): the integer model behind a sleep."""

    def __init__(self, inner, seconds: float):
        self.inner, self.seconds = inner, seconds

    def __getattr__(self, name):
        return getattr(self.inner, name)

    def run(self, frames):
        time.sleep(self.seconds * len(frames))
        return self.inner.run(frames)


@pytest.mark.slow
def test_an_overloaded_paced_source_stays_near_the_live_edge_and_counts_drops(int8):
    """At 10× the demo needs a bin every 2.5 ms of wall time; this backend takes 15 ms. Bins older than 250 ms
    of sensor time behind where the source is *now* are dropped, so the windows that come out stay within half
    a second of the live edge (measured as wall time at the replay speed), however long it runs."""
    speed = 10.0
    src = FileSource(DEMO, speed=speed, loop=True)
    lags = []

    def seen(win):  # on the worker thread, as the window is reported
        lags.append((src.clock_us() - win.t_end_us) / speed / 1e6)

    pipe = Pipeline(SlowBackend(int8, 0.015), src.sensor_size, TRAINING_WINDOWS, realtime=True)
    runner = Runner(src, pipe, on_window=seen).start()
    time.sleep(6.0)
    runner.stop()
    runner.raise_error()
    assert len(lags) >= 10 and max(lags) < 0.5, lags
    assert runner.pipeline.dropped > 0.5 * runner.pipeline.bins_run
    snap = runner.pipeline.snapshot()  # the dropped bins are marked in the histories, not just zeros there
    gaps = snap.dropped_history
    assert gaps.shape == snap.synops_history.shape and 0 < gaps.sum() < len(gaps)
    assert (snap.synops_history[gaps] == 0).all() and (snap.activity[gaps] == 0).all()


def _until(cond, timeout: float = 30.0) -> bool:
    end = time.monotonic() + timeout
    while not cond() and time.monotonic() < end:
        time.sleep(0.01)
    return cond()


def test_a_seek_starts_the_answer_over_from_the_new_place():
    """Seeking from inside a gesture into the pause after it, paused: the network starts from fresh state and the
    window leading up to the new place is run again, so the app says what a replay reaching there says (no
    gesture), not the gesture it was in (it had said "hand clap 90 %" there). No window logged after the
    seek reaches back across the jump."""
    session = Session(SourceOptions(speed=4.0))
    session.open(str(DEMO))
    try:
        assert _until(lambda: (session.source.position_us or 0) > 6_800_000)  # hand clap, 5–7.5 s
        assert _until(lambda: session.latest().verdict == 0, 10)
        session.set_paused(True)
        logged = session.windows_logged
        session.seek(9_500_000)  # the pause, 7.5–10.5 s
        assert session.last_seek_us == 9_500_000 - session.history_us
        assert _until(lambda: (session.source.position_us or 0) >= 9_500_000)
        assert _until(lambda: session.windows_logged > logged and session.latest().t_us > 0, 10)
        time.sleep(0.2)
        snap = session.latest()
        assert snap.verdict == -1, snap.explanation
        assert snap.latency_class == -1 and snap.decision_latency_s is None
        after = list(session.window_log)[-(session.windows_logged - logged):]
        assert after and all(w.t_start_us >= session.last_seek_us for w in after)
    finally:
        session.stop()


def test_a_seek_splits_the_queued_chunks_and_restarts_the_pipeline_there(int8, demo):
    """The runner starts the pipeline over before the first chunk from where a seek went, never inside a merged
    group of chunks."""
    from sast_live.pipeline import runner as runner_mod

    restarts, seen = [], []

    class Watched(Pipeline):
        def restart(self):
            restarts.append(seen[-1] if seen else None)
            super().restart()

        def process(self, chunk, *a, **k):
            seen.append(int(chunk["t"][0]))
            return super().process(chunk, *a, **k)

    pipe = Watched(int8, SensorSize(128, 128), TRAINING_WINDOWS)
    chunks = [demo[i:i + 500] for i in range(0, 20 * 500, 500)]
    runner = Runner(FileSource(DEMO, speed=None), pipe)
    for i, c in enumerate(chunks):
        runner.queue.put((c, int(c["t"][-1]), 0.0, i == 5))
    runner.queue.put(runner_mod._END)
    runner.step()
    first = [int(c["t"][0]) for c in chunks]
    assert runner_mod.MERGE == 8  # groups of 8 chunks, split at the seek: 0-4, 5-12, 13-19
    assert seen == [first[0], first[5], first[13]] and restarts == [first[0]]
