"""The integer simulator: leak rounding, quantization, numba == NumPy bit for bit, chunking, SynOps, model file."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import replace

import numpy as np
import pytest

from firmware_sim.fixed_point import Leak, leak_array, leak_naive, leak_value, nearest_leak, quantize_symmetric
from firmware_sim.model_file import load_firmware, save_firmware
from firmware_sim.simulator import Simulator
from sast_live.errors import SastLiveError
from tests.firmware_helpers import random_frames, random_model

# ---------------------------------------------------------------- leak and quantization


@pytest.mark.parametrize("leak", [Leak("shift", 2), Leak("shift", 4), Leak("multiply", 205), Leak("multiply", 250)])
def test_leak_never_leaves_a_value_stuck(leak):
    v = np.arange(-5000, 5001, dtype=np.int64)
    out = leak_array(v, leak)
    nz = v != 0
    assert np.all(np.abs(out[nz]) < np.abs(v[nz])), "every non-zero membrane must shrink"
    assert np.all(np.sign(out[nz] * v[nz]) >= 0), "the leak never flips the sign"
    assert out[~nz][0] == 0
    # the numba scalar is the same function
    assert [leak_value(int(x), leak.form_id, leak.param, leak.shift) for x in v[::37]] == out[::37].tolist()
    # within one unit of the exact product, rounded toward zero
    exact = v * leak.factor
    assert np.all(np.abs(out - np.trunc(exact)) <= 1)


def test_naive_leak_forms_leave_values_stuck():
    # v − (v >> k) floors the decrement: any 0 < v < 2^k never decays
    shift = Leak("shift", 3)
    stuck = np.arange(1, 8, dtype=np.int64)
    assert np.array_equal(leak_naive(stuck, shift), stuck)
    # (v·m) >> 8 floors toward −∞: any −256/51 < v < 0 stays where it is forever
    mult = Leak("multiply", 205)
    v = np.arange(-5, 0, dtype=np.int64)
    for _ in range(50):
        v = leak_naive(v, mult)
    assert v.tolist() == [-5, -4, -3, -2, -1]
    # ours reaches rest from anywhere
    for leak in (shift, mult):
        w = np.array([-30000, -1, 1, 7, 30000], dtype=np.int64)
        for _ in range(200):
            w = leak_array(w, leak)
        assert not w.any()


@pytest.mark.parametrize("backend", ["numba", "numpy"])
@pytest.mark.parametrize("leak,trace", [
    (Leak("multiply", 205), [-7, -5, -4, -3, -2, -1, 0, 0]),  # ⌊|v|·205/256⌋ with the sign put back
    (Leak("shift", 2), [-7, -5, -3, -2, -1, 0, 0, 0]),  # |v| − ⌈|v|/4⌉
])
def test_the_simulator_leaks_negative_membranes_to_rest(backend, leak, trace):
    """One neuron driven to −7 by a single input event, then silence: its membrane leaks toward zero and
    reaches it (a floor instead of rounding toward zero would leave it stuck at a negative value)."""
    from firmware_sim.model_file import ConvLayer, FirmwareModel

    layer = ConvLayer((2, 1, 1), (1, 1, 1), 1, 1, 0, np.array([[[[-7]], [[0]]]], np.int16), np.ones(1),
                      np.array([100], np.int64))
    model = FirmwareModel("one", ("a",), 8, True, 16, 0, leak, (layer,), np.ones((1, 1), np.int16), 1.0, (1, 1),
                          1000, 8, 0.8, 1.0, {})
    sim = Simulator(model, backend=backend)
    frames = np.zeros((len(trace), 2, 1, 1), np.uint8)
    frames[0, 0, 0, 0] = 1
    state, got = sim.initial_state(), []
    for f in frames:
        state, _ = sim.run(f[None], state)
        got.append(int(state.v[0]))
    assert got == trace


def test_nearest_leak_picks_the_closest_factor():
    assert nearest_leak(0.8, "multiply") == Leak("multiply", 205)  # 205/256 = 0.80078
    assert nearest_leak(0.8, "shift").param == 2  # 0.75 beats 0.875
    assert nearest_leak(0.9, "shift").param == 3  # 0.875 beats 0.9375
    assert nearest_leak(0.97, "shift").param == 5  # 0.96875
    assert abs(nearest_leak(0.8, "multiply", 16).factor - 0.8) < 1e-5
    with pytest.raises(SastLiveError, match="tau"):
        nearest_leak(1.2)


def test_quantize_symmetric_by_hand():
    w = np.array([[0.5, -0.25, 0.1], [0.0, 0.0, 0.0], [-2.0, 1.0, 0.3]])
    q, scale = quantize_symmetric(w, 8)
    assert scale.tolist() == [0.5 / 127, 1.0, 2.0 / 127]
    assert q.tolist() == [[127, -64, 25], [0, 0, 0], [-127, 64, 19]]  # 63.5 → 64 (ties to even), 25.4 → 25
    q4, s4 = quantize_symmetric(w, 4, per_channel=False)
    assert np.all(s4 == 2.0 / 7) and np.abs(q4).max() == 7
    assert np.all(np.abs(q * scale[:, None] - w) <= scale[:, None] / 2 + 1e-12)


# ---------------------------------------------------------------- kernels vs reference


@pytest.mark.parametrize("seed", range(6))
def test_numba_equals_numpy_bit_for_bit(seed):
    rng = np.random.default_rng(seed)
    small = seed % 2 == 1  # odd seeds: 8-bit membranes, shift leak, frac bits — saturation on purpose
    model = random_model(rng, membrane_bits=8 if small else 16, frac_bits=2 if small else 0,
                         leak=Leak("shift", 2) if small else Leak("multiply", 205 + seed),
                         weight_bits=4 if seed == 2 else 8,
                         theta_range=(5, 60) if small else (2, 20) if seed == 2 else (20, 300), bias=seed >= 3)
    frames = random_frames(rng, model, 12, rate=0.6, burst=seed >= 4)
    fast, ref = Simulator(model), Simulator(model, "numpy")
    sa, oa = fast.run(frames, fast.initial_state())
    sb, ob = ref.run(frames, ref.initial_state())
    for name in ("spikes", "synops", "saturations", "scores"):
        assert np.array_equal(getattr(oa, name), getattr(ob, name)), name
    assert np.array_equal(sa.v, sb.v) and np.array_equal(sa.s, sb.s) and np.array_equal(sa.acc, sb.acc)
    assert np.array_equal(sa.channels, sb.channels)
    assert sa.channels.sum() == oa.spikes[:, -1].sum() > 0  # every last-layer spike, counted by its channel
    assert np.array_equal(sa.cells, sb.cells) and sa.cells.sum() == sa.channels.sum()  # and by its position
    assert len(sa.cells) == fast.n_cells and np.count_nonzero(sa.cells) > 1
    st, per_bin = fast.initial_state(), np.zeros(fast.n_cells, np.int64)  # the same, from each bin's spikes
    for t in range(len(frames)):
        st, _ = fast.run(frames[t:t + 1], st)
        per_bin += st.s[-fast.n_cells * fast.n_channels:].reshape(fast.n_cells, fast.n_channels).sum(1, dtype=np.int64)
    assert np.array_equal(per_bin, sa.cells)
    assert oa.spikes.sum() > 0
    if small:
        assert oa.saturations[:-1].sum() > 0, "the 8-bit case must exercise membrane saturation"


@pytest.mark.parametrize("seed", [0, 1])
def test_parallel_windows_equal_the_reference_window_by_window(seed):
    """``classify`` runs windows in parallel on the numba backend (``prange``, chunks of 64); every field,
    the last layer's spike counts included, equals the reference run one window and one step at a time."""
    rng = np.random.default_rng(seed)
    small = seed == 1
    model = random_model(rng, membrane_bits=8 if small else 16, frac_bits=2 if small else 0,
                         leak=Leak("shift", 2) if small else Leak("multiply", 210),
                         theta_range=(5, 60) if small else (20, 300), bias=True)
    windows = np.stack([random_frames(rng, model, 9, rate=0.5, burst=i % 3 == 0) for i in range(70)])
    fast = Simulator(model).classify(windows, last_counts=True)
    ref = Simulator(model, "numpy").classify(windows, last_counts=True)
    assert fast.keys() == ref.keys()
    for name, value in fast.items():
        assert np.array_equal(value, ref[name]), name
    assert fast["last_counts"].sum() > 0 and len(np.unique(fast["scores"], axis=0)) > 1
    one = Simulator(model).run(windows[69], Simulator(model).initial_state())[1]
    assert np.array_equal(fast["scores"][69], one.scores) and np.array_equal(fast["synops"][69], one.synops.sum(0))


def test_readout_accumulator_saturates_and_counts():
    rng = np.random.default_rng(9)
    model = random_model(rng, theta_range=(1, 1), specs=((3, 3, 1, 1),), in_hw=(6, 6))
    model.readout[:] = 127
    sim, ref = Simulator(model), Simulator(model, "numpy")
    state = sim.initial_state()
    state = replace(state, acc=np.full(4, 2**31 - 1000, np.int64))
    frames = np.full((3, 2, 6, 6), 3, np.uint8)
    _, oa = sim.run(frames, state)
    _, ob = ref.run(frames, state)
    assert oa.saturations[-1] > 0 and np.array_equal(oa.saturations, ob.saturations)
    assert np.all(oa.scores == 2**31 - 1)


def test_chunked_equals_whole_and_state_is_not_mutated():
    rng = np.random.default_rng(3)
    model = random_model(rng)
    frames = random_frames(rng, model, 30)
    sim = Simulator(model)
    s0 = sim.initial_state()
    whole_state, whole = sim.run(frames, s0)
    assert not s0.v.any() and not s0.s.any() and s0.steps == 0
    state, parts = s0, []
    for a, b in ((0, 7), (7, 8), (8, 30)):
        state, out = sim.run(frames[a:b], state)
        parts.append(out)
    assert state.steps == 30
    assert np.array_equal(np.concatenate([p.spikes for p in parts]), whole.spikes)
    assert np.array_equal(np.concatenate([p.synops for p in parts]), whole.synops)
    assert np.array_equal(state.v, whole_state.v) and np.array_equal(parts[-1].scores, whole.scores)


def _brute_force_synops(inp: np.ndarray, layer) -> int:
    """Σ over output neurons and kernel taps of the input under the tap (C, H, W) — the dense definition."""
    c_in, h, w = layer.in_shape
    c_out, ho, wo = layer.out_shape
    total = 0
    for oy in range(ho):
        for ox in range(wo):
            for ky in range(layer.kernel):
                for kx in range(layer.kernel):
                    y, x = oy * layer.stride + ky - layer.padding, ox * layer.stride + kx - layer.padding
                    if 0 <= y < h and 0 <= x < w:
                        total += int(inp[:, y, x].sum())
    return total * c_out


def test_synops_match_the_dense_formula_per_layer_and_step():
    rng = np.random.default_rng(5)
    model = random_model(rng, theta_range=(10, 80))
    frames = random_frames(rng, model, 6, rate=0.8)
    sim = Simulator(model)
    state = sim.initial_state()
    n_checked = 0
    for t in range(len(frames)):
        state, out = sim.run(frames[t:t + 1], state)
        inp = frames[t].astype(np.int64)
        offset = 0
        for i, layer in enumerate(model.layers):
            assert out.synops[0, i] == _brute_force_synops(inp, layer), (t, i)
            c, h, w = layer.out_shape
            inp = state.s[offset:offset + c * h * w].reshape(h, w, c).transpose(2, 0, 1).astype(np.int64)
            offset += c * h * w
            n_checked += int(inp.sum() > 0)
        assert out.synops[0, -1] == int(inp.sum()) * model.n_classes
    assert n_checked > 0, "the hidden layers must have spiked for the check to mean anything"


# ---------------------------------------------------------------- model file


def test_firmware_file_round_trip(tmp_path):
    rng = np.random.default_rng(1)
    model = replace(random_model(rng, weight_bits=4, bias=True), refractory_us=7_000)
    save_firmware(model, tmp_path)
    back = load_firmware(tmp_path)
    assert back.leak == model.leak and back.classes == model.classes and back.weight_bits == 4
    assert np.array_equal(back.bias, model.bias) and np.any(back.bias) and back.refractory_us == 7_000
    for a, b in zip(model.layers, back.layers, strict=True):
        assert np.array_equal(a.weights, b.weights) and np.array_equal(a.theta, b.theta)
    frames = random_frames(rng, model, 5)
    assert np.array_equal(Simulator(model).run(frames, Simulator(model).initial_state())[1].scores,
                          Simulator(back).run(frames, Simulator(back).initial_state())[1].scores)
    assert json.loads((tmp_path / "firmware.json").read_text())["memory"]["weight_bytes"] == \
        (model.n_weights * 4 + 7) // 8 + 4 * model.n_classes  # the bias is int32


def _edit(tmp_path, fn):
    meta = json.loads((tmp_path / "firmware.json").read_text())
    fn(meta)
    (tmp_path / "firmware.json").write_text(json.dumps(meta))


@pytest.mark.parametrize("edit,message", [
    (lambda m: m.update(format="sast-live-checkpoint/1"), "not a SAST-Live firmware model"),
    (lambda m: m.update(weight_bits=5), "weight_bits must be one of"),
    (lambda m: m.update(membrane_bits="16"), "must be an integer"),
    (lambda m: m.update(leak={"form": "exp", "param": 3}), "leak form"),
    (lambda m: m["layers"][1].update(kernel=3), "output size .* does not follow from the geometry"),
    (lambda m: m["layers"][1].update(padding=1, kernel=3), "tensor 'conv1.weight' has shape"),
    (lambda m: m["layers"][1].update(in_shape=[9, 5, 6]), "does not match the previous layer"),
    (lambda m: m["layers"][0].update(scale=[1.0]), "scale must be"),
    (lambda m: m.update(classes=["a", "b"]), "tensor 'readout' has shape"),
    (lambda m: m.pop("layers"), "layers: must be a list of 1…32 layers"),
    (lambda m: m.update(refractory_us=-5), "refractory_us: must be an integer"),
])
def test_firmware_file_errors_name_the_field(tmp_path, edit, message):
    save_firmware(random_model(np.random.default_rng(0)), tmp_path)
    _edit(tmp_path, edit)
    with pytest.raises(SastLiveError, match=message):
        load_firmware(tmp_path)


def test_firmware_file_rejects_bad_tensors(tmp_path):
    from safetensors.numpy import load_file, save_file

    model = random_model(np.random.default_rng(0), weight_bits=4)
    save_firmware(model, tmp_path)
    tensors = load_file(str(tmp_path / "firmware.safetensors"))
    tensors["conv0.weight"][0, 0, 0, 0] = 9  # beyond INT4's ±7
    save_file(tensors, str(tmp_path / "firmware.safetensors"))
    with pytest.raises(SastLiveError, match="exceeds ±7"):
        load_firmware(tmp_path)
    tensors["conv0.weight"][0, 0, 0, 0] = 0
    tensors["conv0.theta"][0] = 40000  # beyond the 16-bit membrane
    save_file(tensors, str(tmp_path / "firmware.safetensors"))
    with pytest.raises(SastLiveError, match="thresholds must be"):
        load_firmware(tmp_path)
    (tmp_path / "firmware.safetensors").write_bytes(b"\x10\x00\x00\x00garbage")
    with pytest.raises(SastLiveError, match="not a safetensors file"):
        load_firmware(tmp_path)
    with pytest.raises(SastLiveError, match="need firmware.json"):
        load_firmware(tmp_path / "nowhere")


def test_simulator_rejects_wrong_frames():
    model = random_model(np.random.default_rng(0))
    sim = Simulator(model)
    with pytest.raises(SastLiveError, match=r"frames must be \(T, 2, 9, 11\)"):
        sim.run(np.zeros((3, 2, 11, 9), np.uint8), sim.initial_state())
    with pytest.raises(SastLiveError, match="0..255"):
        sim.run(np.full((1, 2, 9, 11), 300, np.int32), sim.initial_state())


@pytest.mark.slow
def test_firmware_sim_runs_without_torch(tmp_path):
    """Quantize a checkpoint and simulate it with torch made unimportable."""
    code = f"""
import sys
sys.modules['torch'] = None
import numpy as np
from firmware_sim.quantize import quantize_checkpoint, QuantConfig
from firmware_sim.simulator import Simulator
from firmware_sim.model_file import save_firmware, load_firmware
m = quantize_checkpoint('models/zoo/gestures-sast/model', QuantConfig(4))
save_firmware(m, {str(tmp_path)!r})
sim = Simulator(load_firmware({str(tmp_path)!r}))
state, out = sim.run(np.ones((3, 2, 32, 32), np.uint8), sim.initial_state())
print(out.synops_total)
"""
    from tests.conftest import REPO

    r = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=240)
    assert r.returncode == 0, r.stderr
    assert int(r.stdout.split()[-1]) > 0


def test_firmware_file_rejects_a_readout_bias_beyond_the_accumulator(tmp_path):
    from safetensors.numpy import load_file, save_file

    save_firmware(random_model(np.random.default_rng(0), bias=True), tmp_path)
    tensors = load_file(str(tmp_path / "firmware.safetensors"))
    tensors["readout_bias"][1] = -(2**30)
    save_file(tensors, str(tmp_path / "firmware.safetensors"))
    with pytest.raises(SastLiveError, match="readout_bias' exceeds"):
        load_firmware(tmp_path)
