"""The live pipeline: chunking invariance, bit-exactness against firmware_sim, float backends, drops, switching."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from firmware_sim.precisions import PRECISIONS
from firmware_sim.simulator import Simulator
from sast_live.errors import SastLiveError
from sast_live.events import SensorSize, iter_time_windows
from sast_live.formats.registry import read_events
from sast_live.pipeline import Pipeline, Runner, load_backend
from sast_live.pipeline.options import TRAINING_WINDOWS, PipelineOptions
from sast_live.sources import FileSource
from sast_live.transforms.binning import bin_window
from tests.test_wire import DEMO


@pytest.fixture(scope="module")
def demo():
    ev = read_events(DEMO)
    return ev[ev["t"] < 3_500_000]


@pytest.fixture(scope="module")
def int8():
    return load_backend(None, PRECISIONS["int8"])


def model_input(events, backend):
    """The events the network reads: its own refractory input filter (fresh at the stream's start) applied."""
    from sast_live.transforms.config import RefractoryConfig
    from sast_live.transforms.filters import refractory

    us = backend.input_refractory_us
    return refractory(events, None, RefractoryConfig((128, 128), us))[0] if us else events


def run(backend, events, chunk_sizes=None, realtime=False):
    pipe = Pipeline(backend, SensorSize(128, 128), TRAINING_WINDOWS, realtime=realtime)
    out = []
    if chunk_sizes is None:
        out += pipe.process(events)
    else:
        cuts = np.cumsum(chunk_sizes)
        for part in np.split(events, cuts[cuts < len(events)]):
            out += pipe.process(part)
    return out + pipe.finish(), pipe


def test_chunked_equals_whole_and_windows_are_bit_exact_with_the_simulator(demo, int8):
    whole, pipe = run(int8, demo)
    rng = np.random.default_rng(0)
    chunked, _ = run(int8, demo, rng.integers(1, 5000, 200))
    assert [w.as_json() for w in whole] == [w.as_json() for w in chunked]
    assert [w.partial for w in whole] == [False] * 3 + [True]
    sim = Simulator(int8.model)
    t0 = int(demo["t"][0])
    seen = model_input(demo, int8)
    for w in whole[:3]:
        frames = bin_window(seen, int8.bin_cfg, w.t_start_us, int8.n_bins)
        _, out = sim.run(frames, sim.initial_state())
        assert list(w.scores) == out.scores.tolist()
        # a window's events are those its network read (after the model's input filter)
        assert w.synops == out.synops_total and w.events == int(((seen["t"] >= w.t_start_us)
                                                                  & (seen["t"] < w.t_end_us)).sum())
        assert (w.t_start_us - t0) % int8.bin_cfg.bin_us == 0
    snap = pipe.snapshot()
    assert snap.synops_total == sum(w.synops for w in whole) and snap.events_total == len(seen)
    assert snap.events_in == len(demo) and snap.events_filtered == len(demo) - len(seen)
    assert not snap.frame.flags.writeable and snap.frame.shape == (128, 128)


def test_float_backends_follow_the_torch_model(demo):
    import torch

    hard = load_backend(None, PRECISIONS["hard"])
    wins, _ = run(hard, demo)
    frames = bin_window(model_input(demo, hard), hard.bin_cfg, wins[0].t_start_us, hard.n_bins)
    x = torch.from_numpy(frames).float()[:, None]
    logits = hard.model(x, "hard")[0].detach().numpy()
    np.testing.assert_allclose(wins[0].scores, logits, rtol=1e-4, atol=1e-5)
    assert wins[0].class_index == int(logits.argmax())


def test_realtime_pipeline_drops_whole_bins_when_behind(demo, int8):
    pipe = Pipeline(int8, SensorSize(128, 128), TRAINING_WINDOWS, realtime=True, max_lag_us=100_000)
    # the source says it is already at 1.05 s: the bins that ended before 0.95 s are stale
    wins = pipe.process(demo[demo["t"] < 1_000_000], watermark=1_000_282, live_edge=1_050_000)  # bins from 282 µs
    assert pipe.dropped == 37 and pipe.bins_run == 3 and pipe.bins_run + pipe.dropped == len(pipe.telemetry.synops_hist)
    assert wins and (wins[0].dropped_bins, wins[0].bins) == (37, 3)
    assert pipe.snapshot().events_in == int((demo["t"] < 1_000_000).sum())  # counted, never lost
    # a window whose every bin was dropped is no prediction: not reported, its bins counted
    more = pipe.process(demo[(demo["t"] >= 1_000_000) & (demo["t"] < 2_000_000)], 2_000_282, live_edge=5_000_000)
    assert more == [] and pipe.dropped == 37 + 40


def test_precision_switch_closes_the_window_and_continues(demo, int8):
    pipe = Pipeline(int8, SensorSize(128, 128), TRAINING_WINDOWS)
    first = pipe.process(demo[demo["t"] < 500_000])
    pipe.set_backend(load_backend(None, PRECISIONS["int4"]))
    rest = pipe.process(demo[demo["t"] >= 500_000]) + pipe.finish()
    assert not first and rest[0].partial and rest[0].bins == 19
    assert "int4" in pipe.snapshot().backend and len(rest) >= 3


def test_wrong_geometry_and_precision_are_clear_errors(int8, tmp_path):
    with pytest.raises(SastLiveError, match="34×34 pixels but the model expects 128×128"):
        Pipeline(int8, SensorSize(34, 34), TRAINING_WINDOWS)
    with pytest.raises(SastLiveError, match="unknown precision .int2.; choose from float, hard, int8, int4, wide"):
        PipelineOptions(precision="int2")
    with pytest.raises(SastLiveError, match="no model at"):
        load_backend(tmp_path / "nothing", PRECISIONS["int8"])


@pytest.mark.slow
def test_runner_threads_process_a_paced_file_and_publish_snapshots(int8, demo):
    seen = []
    src = FileSource(DEMO, speed=20.0)
    pipe = Pipeline(int8, src.sensor_size, TRAINING_WINDOWS, realtime=True)
    runner = Runner(src, pipe, on_window=seen.append).start()
    assert runner.wait(30)
    runner.stop()
    runner.raise_error()
    snap = runner.latest()
    assert snap.finished and snap.error is None and snap.windows == len(seen) >= 10
    assert snap.bins_run + snap.dropped_bins > 400 and snap.synops_total > 0


WARM_PROBE = """
import sys, numpy as np
from numba.core.registry import CPUDispatcher
from sast_live.events import SensorSize
from sast_live.formats.registry import read_events
from firmware_sim.precisions import PRECISIONS
from sast_live.pipeline import Pipeline, load_backend
from sast_live.pipeline.options import PipelineOptions
from sast_live.pipeline.pipeline import warm_up
from sast_live.sources import DEMO
from sast_live.sources.serial_source import warm_up as warm_decoder
from sast_live.wire import edvs

def signatures():
    mods = [(m, mod) for m, mod in list(sys.modules.items()) if m.startswith(("sast_live", "firmware_sim"))]
    return {f"{m}.{k}": len(v.signatures) for m, mod in mods for k, v in vars(mod).items()
            if isinstance(v, CPUDispatcher)}

events = read_events(DEMO)[:20_000]  # reading the file compiles its decoder: not part of the live path
backend = load_backend(None, PRECISIONS[sys.argv[1]])
before = signatures()
warm_up(backend, SensorSize(128, 128))
warm_decoder("edvs")
warmed = signatures()
pipe = Pipeline(backend, SensorSize(128, 128), PipelineOptions(hop_ms=0, denoise_us=5_000, refractory_us=100),
                realtime=True)
for part in [events[:0], events[:1], events[1:3], *np.array_split(events[3:], 40), events[5:6]]:
    pipe.process(part, int(part["t"][-1]) if len(part) else None, live_edge=None)
pipe.finish()
st = edvs.EdvsState()
for piece in (edvs.encode_edvs(events[:500]), b"", edvs.encode_edvs(events[500:501])):
    _, st = edvs.decode_edvs(piece, st, 1_000, flush=not piece)
print(sorted(k for k, n in signatures().items() if n != warmed.get(k, 0)), sum(warmed.values()) > sum(before.values()))
"""


@pytest.mark.slow
@pytest.mark.parametrize("precision", ["int8", "float"])
def test_warm_up_compiles_every_kernel_the_live_path_runs(precision):
    """Whatever chunks arrive (empty, one event, many; filters on), no numba kernel compiles after the warm-up —
    a compile on the first live data once cost a stream its first window (issue 13)."""
    import subprocess
    import sys

    from tests.conftest import REPO

    done = subprocess.run([sys.executable, "-c", WARM_PROBE, precision], capture_output=True, text=True, cwd=REPO,
                          timeout=300)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[] True"


def test_the_models_input_filter_runs_in_the_pipeline_whatever_the_noise_filters(demo, int8, tmp_path):
    """A model trained behind a refractory filter gets it live too: the same windows as filtering by hand and
    running a copy of the model without one; the user's noise-filter toggle does not switch it off."""
    from dataclasses import replace

    from sast_live.pipeline.backends import IntBackend

    filtered = IntBackend(replace(int8.model, refractory_us=20_000), "int8", int8.precision)
    bare = IntBackend(replace(int8.model, refractory_us=0), "int8", int8.precision)
    by_pipeline, pipe = run(filtered, demo, [7_000] * 40)
    by_hand, _ = run(bare, model_input(demo, filtered))
    assert [w.as_json() for w in by_pipeline] == [w.as_json() for w in by_hand]
    removed = len(demo) - len(model_input(demo, filtered))
    assert removed > 0 and pipe.events_filtered == removed and "refractory 20000" in pipe.filter_label
    pipe.set_filters(None, None)  # the GUI's filter switched off
    assert pipe.filters.model is not None


def test_a_model_switch_brings_its_own_streaming_window(demo, int8):
    """Streaming over the model's 1-s window, then a switch that asks for 500 ms: the windows after it are 500 ms
    (the GUI's model picker passes the new model's stored window this way)."""
    pipe = Pipeline(int8, SensorSize(128, 128), PipelineOptions(window_ms=1000))
    t0 = int(demo["t"][0])
    before = [w for w in pipe.process(demo[demo["t"] < t0 + 1_600_000]) if not w.partial]
    pipe.set_backend(load_backend(None, PRECISIONS["int8"]), PipelineOptions(window_ms=500, taper="linear"))
    after = [w for w in pipe.process(demo[demo["t"] >= t0 + 1_600_000]) + pipe.finish() if not w.partial]
    assert before and all(w.bins == 40 for w in before)
    assert after and all(w.bins == 20 and w.t_end_us - w.t_start_us == 500_000 for w in after)
    with pytest.raises(SastLiveError, match="the model expects 34×34"):
        nmnist = Path(__file__).parents[1] / "models" / "zoo" / "nmnist-real-sast" / "model"
        pipe.set_backend(load_backend(nmnist, PRECISIONS["int8"]))


@pytest.mark.parametrize("precision", ["int8", "float"])
def test_the_input_synops_the_filters_save_are_those_the_network_would_have_run(demo, int8, precision):
    """With the noise filters on, the pipeline counts the input-layer SynOps the removed events would have driven:
    the same stream without the filters runs exactly that many more input SynOps (no pooled pixel saturates)."""
    backend = int8 if precision == "int8" else load_backend(None, PRECISIONS["float"])
    noisy = corrupt_demo(demo)
    figures = []
    for filters in ({}, {"denoise_us": 5_000, "refractory_us": 1_000}):
        pipe = Pipeline(backend, SensorSize(128, 128), PipelineOptions(hop_ms=0, **filters))
        for _, t1, part in iter_time_windows([noisy], 5_000):
            pipe.process(part, t1)
        pipe.finish()
        figures.append(pipe)
    off, on = (pipe.snapshot() for pipe in figures)
    assert on.input_synops_saved > 0 and off.input_synops_saved == 0
    assert on.input_synops + on.input_synops_saved == off.input_synops


def corrupt_demo(events):
    from sast_live.transforms.corruptions import corrupt

    return corrupt(events, "hot_pixels", 3, (128, 128), seed=3)
