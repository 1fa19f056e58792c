"""C export compiled with the system gcc == the numba simulator; wide integers agree with the float model."""

from __future__ import annotations

import shutil
import subprocess

import numpy as np
import pytest

from firmware_sim.c_export import write_c
from firmware_sim.fixed_point import Leak
from firmware_sim.quantize import QuantConfig, quantize_checkpoint
from firmware_sim.simulator import Simulator
from tests.conftest import REPO
from tests.firmware_helpers import random_frames, random_model

GESTURE_SAST = REPO / "models" / "zoo" / "gestures-sast" / "model"
NMNIST_SAST = REPO / "models" / "zoo" / "nmnist-real-sast" / "model"


def _compile_and_run(model, frames, tmp_path):
    if shutil.which("gcc") is None:
        pytest.skip("no gcc on this machine")
    write_c(model, tmp_path)
    exe = tmp_path / "sast_demo"
    cc = subprocess.run(["gcc", "-std=c99", "-O2", "-Wall", "-Wextra", "-pedantic", "-Werror", "-o", str(exe),
                         str(tmp_path / "sast_model.c"), str(tmp_path / "sast_demo.c"), "-lm"],
                        capture_output=True, text=True)
    assert cc.returncode == 0, cc.stderr
    frames.tofile(tmp_path / "frames.bin")
    run = subprocess.run([str(exe), str(tmp_path / "frames.bin"), str(len(frames))], capture_output=True,
                         text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    lines = run.stdout.splitlines()
    L = len(model.layers)
    spikes, synops, sat, ends = [], [], [], {}
    for line in lines:
        words = line.split()
        if words[0] != "step":
            ends[words[0]] = words[1:]
            continue
        spikes.append([int(w) for w in words[3:3 + L]])
        synops.append([int(w) for w in words[4 + L:5 + 2 * L]])
        sat.append([int(w) for w in words[6 + 2 * L:]])
    scores = [int(w) for w in ends["scores"]]
    _compile_and_run.last = ([int(w) for w in ends["channels"]], float(ends["distance"][0]), float(ends["gate"][0]),
                             [int(w) for w in ends["cells"]])
    return np.array(spikes), np.array(synops), np.array(sat), np.array(scores), int(ends["prediction"][0])


@pytest.mark.parametrize("case", ["random-int8", "random-int4-shift-8bit", "gestures-int8", "gestures-int4-frac"])
def test_c_export_is_bit_identical_to_the_simulator(tmp_path, case):
    rng = np.random.default_rng(len(case))
    if case == "random-int8":
        model = random_model(rng, bias=True)
    elif case == "random-int4-shift-8bit":
        model = random_model(rng, weight_bits=4, membrane_bits=8, frac_bits=1, leak=Leak("shift", 2),
                             theta_range=(3, 30))
    elif case == "gestures-int8":
        model = quantize_checkpoint(GESTURE_SAST, QuantConfig(8))
    else:
        model = quantize_checkpoint(GESTURE_SAST, QuantConfig(4, frac_bits=3, leak_form="shift"))
    frames = random_frames(rng, model, 25, rate=0.5, burst=True)
    spikes, synops, sat, scores, pred = _compile_and_run(model, frames, tmp_path)
    sim = Simulator(model)
    state = sim.initial_state()
    per_step_sat = []
    for t in range(len(frames)):  # the C driver reports saturations per step
        state, out = sim.run(frames[t:t + 1], state)
        per_step_sat.append(out.saturations)
    _, whole = sim.run(frames, sim.initial_state())
    assert np.array_equal(spikes, whole.spikes)
    assert np.array_equal(synops, whole.synops)
    assert np.array_equal(sat, np.array(per_step_sat))
    assert np.array_equal(scores, whole.scores) and pred == int(whole.scores.argmax())
    assert np.array_equal(_compile_and_run.last[0], state.channels) and state.channels.sum() > 0
    assert np.array_equal(_compile_and_run.last[3], state.cells)
    assert whole.spikes.sum() > 0
    if case == "random-int4-shift-8bit":
        assert sat.sum() > 0, "the 8-bit case must exercise saturation in C too"


def test_wide_integers_agree_with_the_float_hard_model(real_dir):
    """16-bit weights, 32-bit membranes and a 2^-24 leak: ≥ 99 % of the 100 real test digits agree."""
    from models.checkpoint.weights import load_model
    from training.data.frames import FrameCache
    from training.data.resolve import resolve_datasets
    from training.inference import predict

    model, _ = load_model(NMNIST_SAST)
    _, test = resolve_datasets("nmnist-real", progress=False)
    cache = FrameCache(test, model.cfg)
    windows = cache.windows()
    float_hard = predict(model, cache, "hard").argmax(1)
    sim = Simulator(quantize_checkpoint(NMNIST_SAST, QuantConfig(16, membrane_bits=32, leak_shift=24)))
    result = sim.classify(windows)
    agreement = float((result["predictions"] == float_hard).mean())
    assert agreement >= 0.99, agreement
    assert result["saturations"].sum() == 0


def test_the_readout_bias_reaches_the_sensors_logits(tmp_path):
    """A still scene (no event) gives the bias as logits: in the float model, and in the integer simulator
    within half a readout weight step per class, with the argmax the bias picks."""
    import torch

    from models.checkpoint.weights import save_checkpoint
    from models.config import ConvSpec, SNNConfig
    from models.networks import SpikingConvNet

    cfg = SNNConfig("tiny", 2, (8, 8), (16, 16), (ConvSpec(4, 3, 2, 1),), 3, bin_us=1000, n_bins=6,
                    classes=("a", "b", "c"), readout_bias=True, refractory_us=2_000)
    torch.manual_seed(0)
    net = SpikingConvNet(cfg)
    with torch.no_grad():
        net.readout.bias.copy_(torch.tensor([0.2, -0.1, 0.45]))
    save_checkpoint(tmp_path / "model", net, {"model_cfg": cfg.to_dict()})
    fw = quantize_checkpoint(tmp_path / "model", QuantConfig(8))
    assert fw.refractory_us == 2_000
    frames = np.zeros((cfg.n_bins, 2, 8, 8), np.uint8)
    with torch.no_grad():
        float_logits = net(torch.zeros(cfg.n_bins, 1, 2, 8, 8), "hard")[0].numpy()
    assert np.allclose(float_logits, [0.2, -0.1, 0.45], atol=1e-6)
    sim = Simulator(fw)
    _, out = sim.run(frames, sim.initial_state())
    logits = fw.to_logits(out.scores, cfg.n_bins)
    assert np.all(np.abs(logits - float_logits) <= fw.readout_scale / 2 + 1e-9)
    assert int(out.scores.argmax()) == 2 and out.synops.sum() == 0


def test_the_c_header_carries_the_models_decision(tmp_path):
    """The exported header states how to read the accumulators: scale, temperature, reject class, floor."""
    model = quantize_checkpoint(GESTURE_SAST, QuantConfig(8))
    write_c(model, tmp_path)
    header = (tmp_path / "sast_model.h").read_text()
    defines = dict(line.split()[1:3] for line in header.splitlines()
                   if line.startswith("#define SAST_") and len(line.split()) >= 3)
    d = model.decision
    assert d.reject_class == model.classes.index("no_gesture") and d.temperature != 1.0
    assert int(defines["SAST_REJECT_CLASS"]) == d.reject_class
    assert float(defines["SAST_TEMPERATURE"]) == pytest.approx(d.temperature, rel=1e-8)
    assert float(defines["SAST_MIN_CONFIDENCE"]) == pytest.approx(d.min_confidence, rel=1e-8)
    assert float(defines["SAST_READOUT_SCALE"]) == pytest.approx(model.readout_scale, rel=1e-8)
    assert int(defines["SAST_WINDOW_MS"]) == (d.window_ms or 0)
    assert int(defines["SAST_TAPER_LINEAR"]) == (d.taper == "linear")
    assert int(defines["SAST_REFRACTORY_US"]) == model.refractory_us == 10_000


def test_the_c_export_measures_the_unfamiliar_scene_distance_as_the_app_does(tmp_path):
    """The bundled model carries the feature check (the last layer's spikes per channel, a Mahalanobis distance)
    and the no-gesture gate: the C driver's per-channel counts are the simulator's, its distance and gate
    probability the Decision's."""
    from sast_live.pipeline.backends import DEFAULT_MODEL

    model = quantize_checkpoint(DEFAULT_MODEL / "model", QuantConfig(8))
    check = model.decision.familiar
    assert check is not None and check.whiten.shape == (64, 64) and check.max_distance > 0
    rng = np.random.default_rng(5)
    frames = random_frames(rng, model, 20, rate=0.3, burst=True)
    _compile_and_run(model, frames, tmp_path)
    channels, distance, gate, _ = _compile_and_run.last
    state, _ = Simulator(model).run(frames, Simulator(model).initial_state())
    assert np.array_equal(channels, state.channels) and state.channels.sum() > 0
    want = check.distance(state.channels / len(frames))
    assert distance == pytest.approx(want, rel=1e-6) and want > 0
    header = (tmp_path / "sast_model.h").read_text()
    assert "#define SAST_HAS_FAMILIAR 1" in header and "#define SAST_LAST_C 64" in header
    # the bundled model's decision carries the no-gesture gate too: C computes the app's probability
    assert "#define SAST_HAS_GATE 1" in header and model.decision.gate is not None
    want = float(model.decision.gate.probability(state.channels / len(frames), state.cells / len(frames)))
    assert gate == pytest.approx(want, rel=1e-8)


@pytest.mark.parametrize("features", ["channels", "channels+cells"])
def test_the_c_export_computes_the_no_gesture_gate_as_the_app_does(tmp_path, features):
    """Any no-gesture gate (here random weights on the bundled model), of either form: the C driver's gate
    probability on the last layer's spikes per channel (and per position, sorted in C) is the Decision's, and the
    model file includes math.h for it (linked with -lm)."""
    from dataclasses import replace

    from models.decision import NoGestureGate
    from sast_live.pipeline.backends import DEFAULT_MODEL

    model = quantize_checkpoint(DEFAULT_MODEL / "model", QuantConfig(8))
    rng = np.random.default_rng(6)
    n = 64 + (16 if features == "channels+cells" else 0)
    gate = NoGestureGate(rng.normal(0, 0.5, n), -0.3, 0.7, 0.02, "a test", features)
    model = replace(model, decision=replace(model.decision, gate=gate))
    frames = random_frames(rng, model, 20, rate=0.3, burst=True)
    _compile_and_run(model, frames, tmp_path)
    channels, _, got, cells = _compile_and_run.last
    state, _ = Simulator(model).run(frames, Simulator(model).initial_state())
    assert np.array_equal(cells, state.cells) and np.count_nonzero(state.cells) > 1
    want = float(gate.probability(state.channels / len(frames), state.cells / len(frames)))
    assert 0.0 < want < 1.0 and got == pytest.approx(want, rel=1e-8, abs=1e-12)
    header = (tmp_path / "sast_model.h").read_text()
    assert "#define SAST_HAS_GATE 1" in header and "#define SAST_LAST_P 16" in header
    assert f"#define SAST_GATE_CELLS {int(features != 'channels')}" in header
    assert "#include <math.h>" in (tmp_path / "sast_model.c").read_text()
