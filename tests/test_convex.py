"""The convex reconstruction: solvers and certificates, the spike dictionary against the deployed simulators,
the sequence tasks, and reconstructed models running in firmware_sim and through the CLI."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
import torch

from models.config import ConvSpec, ParallelConfig, SNNConfig
from models.networks import build_model
from models.sequence_net import ParallelLIFNet
from tests.conftest import main_in_process
from training.convex.dictionary import (
    conv_counts_hard,
    conv_counts_integer,
    conv_dictionary,
    hidden_firmware,
    parallel_dictionary,
    rows_labels,
)
from training.convex.reconstruct import ReconConfig, prune_conv, prune_parallel, reconstruct
from training.convex.solvers import LOSSES, max_rho, solve
from training.convex.tasks import make_addition, task_data, task_spec
from training.convex.witness import gaussian_witness, layer_rates

REPO = Path(__file__).resolve().parents[1]


def problem(seed=0, n=150, P=30, C=3, density=0.3):
    rng = np.random.default_rng(seed)
    D = (rng.random((n, P)) < density).astype(np.float64)
    return torch.from_numpy(D), torch.from_numpy(rng.integers(0, C, n)), C


# --- solvers ---------------------------------------------------------------------------------------------

def test_lasso_matches_the_closed_form_of_an_orthogonal_design():
    """Squared loss with DᵀD = n·I separates per feature: W* = soft(DᵀY/n, rho)."""
    n, P, C = 64, 16, 4
    q, _ = np.linalg.qr(np.random.default_rng(1).normal(size=(n, P)))
    D = torch.from_numpy(q * math.sqrt(n))
    y = torch.arange(n) % C
    Y = np.eye(C)[y.numpy()]
    rho = 0.05
    b = D.numpy().T @ Y / n
    closed = np.sign(b) * np.maximum(np.abs(b) - rho, 0)
    sol = solve(D, y, C, rho, "squared", tol=1e-10, max_iter=5000)
    np.testing.assert_allclose(sol.W, closed, atol=1e-7)
    assert 0 <= sol.gap <= 1e-10 * sol.primal


@pytest.mark.parametrize("loss", ["ce", "squared"])
def test_fista_reaches_the_cvxpy_optimum_with_a_certificate(loss):
    cp_ref = pytest.importorskip("training.convex.solvers").cvx_reference
    pytest.importorskip("cvxpy")
    D, y, C = problem()
    rho = 0.05 * max_rho(D, y, C, loss)
    sol = solve(D, y, C, rho, loss, tol=1e-6, max_iter=20_000)
    W, opt = cp_ref(D.numpy(), y.numpy(), C, rho, loss)
    assert sol.rel_gap < 1e-6
    assert sol.dual <= opt + 1e-7 and abs(sol.primal - opt) <= 1e-6 * abs(opt)
    np.testing.assert_allclose(sol.W, W, atol=1e-3)


@pytest.mark.slow
def test_hinge_certificate_brackets_the_cvxpy_optimum():
    pytest.importorskip("cvxpy")
    from training.convex.solvers import cvx_reference

    D, y, C = problem(seed=2)
    rho = 0.05 * max_rho(D, y, C, "hinge")
    sol = solve(D, y, C, rho, "hinge", tol=1e-4, max_iter=20_000)
    _, opt = cvx_reference(D.numpy(), y.numpy(), C, rho, "hinge")
    assert sol.dual <= opt + 1e-7 <= sol.primal + 2e-7  # the certificate is a true bracket
    assert sol.rel_gap < 1e-4 and (sol.primal - opt) / opt < 1e-4


@pytest.mark.parametrize("loss", LOSSES)
def test_certificate_is_nonnegative_and_shrinks_with_iterations(loss):
    D, y, C = problem(seed=3, n=300, P=60)
    rho = 0.02 * max_rho(D, y, C, loss)
    gaps = [solve(D, y, C, rho, loss, tol=1e-14, max_iter=k).gap for k in (10, 100, 1000)]
    assert all(g >= 0 for g in gaps)
    assert gaps[0] > gaps[1] > gaps[2]


@pytest.mark.parametrize("loss", LOSSES)
def test_above_max_rho_the_readout_is_zero(loss):
    D, y, C = problem(seed=4)
    sol = solve(D, y, C, 1.001 * max_rho(D, y, C, loss), loss)
    assert not sol.active.any() and sol.rel_gap < 1e-4


def test_solver_rejects_bad_problems():
    from sast_live.errors import SastLiveError

    D, y, C = problem()
    with pytest.raises(SastLiveError, match="loss"):
        solve(D, y, C, 0.1, "logistic")
    with pytest.raises(SastLiveError, match="rho"):
        solve(D, y, C, -1.0)
    with pytest.raises(SastLiveError, match="labels"):
        solve(D, y + C, C, 0.1)


# --- dictionary = the deployed simulators, bit for bit -----------------------------------------------------

def small_conv(seed=0):
    cfg = SNNConfig("tiny", 2, (12, 12), (12, 12), (ConvSpec(4, 3, 2, 1), ConvSpec(6, 3, 2, 1)), 3, tau=0.8,
                    n_bins=8, bin_us=1000, classes=("a", "b", "c"))
    torch.manual_seed(seed)
    return build_model(cfg)


def conv_inputs(seed=0, n=24):
    rng = np.random.default_rng(seed)
    return rng.poisson(0.6, size=(n, 8, 2, 12, 12)).astype(np.uint8)


def test_conv_dictionary_is_the_deployed_networks_readout_input():
    """With the solved readout in place, the deployed hard network's logits = (counts / T) @ Wᵀ."""
    model = small_conv()
    windows = conv_inputs()
    x = torch.from_numpy(windows).float().transpose(0, 1)
    gaussian_witness(model, x, 0.15)
    counts = conv_counts_hard(model, x)
    W = np.random.default_rng(5).normal(size=(counts.shape[1], 3))
    with torch.no_grad():
        model.readout.weight.copy_(torch.from_numpy(W.T))
        logits = model(x, "hard").double().numpy()
    np.testing.assert_allclose(logits, counts / 8 @ W, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("precision", ["int8", "int4"])
def test_integer_dictionary_reproduces_the_simulators_readout_exactly(precision):
    """The integer simulator's readout accumulators are exactly counts @ q_readout, for the counts the
    dictionary extracted; the numba and NumPy simulators give the same dictionary."""
    from firmware_sim.simulator import Simulator

    model = small_conv(1)
    windows = conv_inputs(1)
    gaussian_witness(model, torch.from_numpy(windows).float().transpose(0, 1), 0.15)
    sim = hidden_firmware(model, precision)
    counts = conv_counts_integer(sim, windows)
    assert counts.sum() > 0
    np.testing.assert_array_equal(counts, conv_counts_integer(Simulator(sim.model, backend="numpy"), windows))
    scores = sim.classify(windows)["scores"]
    np.testing.assert_array_equal(scores, counts @ sim.model.readout.astype(np.int64).T)


@pytest.mark.parametrize("features", ["spike", "membrane", "count"])
@pytest.mark.parametrize("per_step", [False, True])
def test_parallel_dictionary_matches_the_network(features, per_step):
    cfg = ParallelConfig("t", 5, branches=16, widths=(3, 2), n_classes=3, features=features, per_step=per_step)
    torch.manual_seed(0)
    model = ParallelLIFNet(cfg)
    x = (torch.rand(6, 40, 5) < 0.5).float()
    gaussian_witness(model, x, 0.2)
    D = parallel_dictionary(model, x.numpy(), batch_size=16)
    assert D.storage == {"spike": "bits", "membrane": "float", "count": "counts"}[features]
    for other in (None, 7, 40):  # the batches are the memory's business, never the rows'
        np.testing.assert_array_equal(parallel_dictionary(model, x.numpy(), batch_size=other).data, D.data)
    f = model.features(x, "hard").detach()
    want = f.transpose(0, 1).reshape(-1, 32) if per_step else f[-1]
    np.testing.assert_array_equal(D.floats(torch.float32).numpy(), want.numpy())
    W = np.random.default_rng(0).normal(size=(32, 3))
    with torch.no_grad():
        model.readout.weight.copy_(torch.from_numpy(W.T))
        logits = model(x, "hard").double()
    want_logits = logits.transpose(0, 1).reshape(-1, 3) if per_step else logits
    want = D.floats().numpy() @ W  # float32 network vs float64 product: relative to the largest logit
    np.testing.assert_allclose(want_logits.numpy(), want, rtol=0, atol=1e-5 * max(1.0, np.abs(want).max()))

    # the solver's float rows: fit and validation in one array, the two as views of it (no second copy for the
    # re-solve on both), each row as the dictionary's own floats
    from training.convex.reconstruct import solver_floats

    D_val = parallel_dictionary(model, x[:, :9].numpy(), batch_size=16)
    F_all, F_fit, F_val = solver_floats(D, D_val)
    assert F_all.dtype == torch.float64 and F_all.shape == (len(D) + len(D_val), 32)
    assert F_fit.data_ptr() == F_all.data_ptr() and F_val.data_ptr() == F_all[len(D):].data_ptr()
    np.testing.assert_array_equal(F_fit.numpy(), D.floats().numpy())
    np.testing.assert_array_equal(F_val.numpy(), D_val.floats().numpy())


def test_parallel_lif_is_the_sast_equation():
    """A one-branch, one-neuron network against the LIF written out by hand."""
    cfg = ParallelConfig("t", 1, branches=1, widths=(1,), tau=0.5, features="membrane")
    model = ParallelLIFNet(cfg)
    with torch.no_grad():
        model.layers[0].fill_(0.6)
    x = torch.tensor([1.0, 1.0, 0.0, 1.0, 1.0]).reshape(5, 1, 1)
    u = model.features(x).flatten().tolist()
    want, v, s = [], 0.0, 0.0
    for i in x.flatten().tolist():
        v = 0.5 * v * (1 - s) + 0.6 * i
        s = float(v >= 1.0)
        want.append(v)
    np.testing.assert_allclose(u, want, rtol=1e-6)


def test_witness_calibration_hits_the_rate_and_pruning_is_exact():
    model = small_conv(2)
    x = torch.from_numpy(conv_inputs(2)).float().transpose(0, 1)
    info = gaussian_witness(model, x, 0.1)
    assert all(abs(r - 0.1) < 0.02 for r in info["rate"])
    assert info["rate"] == layer_rates(model, x)
    c, h, w = model.feature_shape
    W = np.random.default_rng(0).normal(size=(c * h * w, 3))
    W.reshape(c, h * w, 3)[[1, 4]] = 0  # two channels nobody reads
    with torch.no_grad():
        model.readout.weight.copy_(torch.from_numpy(W.T))
        small = prune_conv(model, W)
        assert small.cfg.layers[-1].out_channels == c - 2
        torch.testing.assert_close(small(x, "hard"), model(x, "hard"))
    par = ParallelLIFNet(ParallelConfig("t", 3, branches=10, widths=(2, 1), n_classes=2))
    Wp = np.random.default_rng(1).normal(size=(10, 2))
    Wp[[0, 3, 7]] = 0
    xp = (torch.rand(5, 20, 3) < 0.5).float()
    with torch.no_grad():
        par.readout.weight.copy_(torch.from_numpy(Wp.T))
        smallp = prune_parallel(par, Wp)
        assert smallp.cfg.branches == 7
        torch.testing.assert_close(smallp(xp), par(xp))


# --- tasks -----------------------------------------------------------------------------------------------

@pytest.mark.parametrize("base", [2, 3, 5])
def test_addition_labels_are_the_sum(base):
    x, y = make_addition(50, base, 6, np.random.default_rng(base))
    assert x.shape == (7, 50, 2 * base + 1) and y.shape == (7, 50)
    powers = base ** np.arange(7)
    digits_a = x[:, :, :base].argmax(2)
    digits_b = x[:, :, base:2 * base].argmax(2)
    np.testing.assert_array_equal(powers @ digits_a + powers @ digits_b, powers @ y)


@pytest.mark.parametrize("base", [2, 3, 5])
def test_autoregressive_addition_feeds_the_previous_sum_digit_and_it_gives_the_carry(base):
    """add*-ar: the operands of add* (the same draw), plus the previous true sum digit one-hot (zeros at step 0);
    with it in view the carry into step t is [s_{t-1} < a_{t-1} + b_{t-1}] — a function of one step back."""
    name = f"add{base}-ar"
    spec = task_spec(name)
    assert (spec.n_in, spec.feedback) == (3 * base + 1, base)
    x, y = task_data(spec, "test", 80, seed=3)
    plain, y_plain = task_data(task_spec(f"add{base}"), "test", 80, seed=3)
    np.testing.assert_array_equal(y, y_plain)
    np.testing.assert_array_equal(x[:, :, :2 * base], plain[:, :, :2 * base])
    np.testing.assert_array_equal(x[:, :, -1], 1.0)
    fed = x[:, :, 2 * base:3 * base]
    assert not fed[0].any() and (fed[1:].sum(2) == 1).all()
    np.testing.assert_array_equal(fed[1:].argmax(2), y[:-1])
    a, b = x[:, :, :base].argmax(2), x[:, :, base:2 * base].argmax(2)
    carry = (fed[1:].argmax(2) < a[:-1] + b[:-1]).astype(int)
    np.testing.assert_array_equal(y[1:], (a[1:] + b[1:] + carry) % base)


def test_generate_feeds_back_its_own_tokens_and_is_the_forward_pass_on_them():
    """Run autoregressively, the network is its ordinary forward pass on an input whose feedback channels hold its
    own previous outputs — and so differs from the teacher-forced run exactly when an output was wrong."""
    import torch

    from models.config import ParallelConfig
    from models.sequence_net import ParallelLIFNet
    from sast_live.errors import SastLiveError
    from training.convex.sequence import accuracy

    spec = task_spec("add3-ar", 6)
    x, y = task_data(spec, "test", 64)
    torch.manual_seed(1)
    model = ParallelLIFNet(ParallelConfig("t", spec.n_in, 48, (4, 1), spec.n_classes, per_step=True,
                                          feedback=spec.feedback, features="count"))
    with torch.no_grad():
        gen = model.generate(torch.as_tensor(x))
        own = x.copy()
        own[:, :, 2 * 3:3 * 3] = 0
        own[1:, :, 6:9] = np.eye(3, dtype=np.float32)[gen[:-1].argmax(-1).numpy()]
        torch.testing.assert_close(gen, model(torch.as_tensor(own)))
        forced = model(torch.as_tensor(x)).argmax(-1).numpy()
    acc = accuracy(model, x, y)
    assert acc["accuracy"] == pytest.approx((gen.argmax(-1).numpy() == y).mean())
    assert acc["teacher_forced_accuracy"] == pytest.approx((forced == y).mean())
    assert acc["accuracy"] != acc["teacher_forced_accuracy"]  # an untrained network's errors are fed back
    with pytest.raises(ValueError, match="feedback"):
        ParallelLIFNet(ParallelConfig("t", spec.n_in, 4, (2, 1), 3, per_step=True)).generate(torch.as_tensor(x))
    with pytest.raises(SastLiveError, match="per-step readout"):
        ParallelConfig("t", spec.n_in, 4, (2, 1), 3, per_step=False, feedback=3)


@pytest.mark.slow
def test_autoregressive_add2_is_learned_and_its_own_errors_cost_it(tmp_path):
    """The convex readout on a small add2-ar instance (teacher-forced rows) generates the sum digits far above
    chance (0.5) at the training length; fed its own outputs it is never better than fed the true ones."""
    s = reconstruct(ReconConfig(dataset="add2-ar", branches=256, n_train=400, n_test=200, out=str(tmp_path / "ar"),
                                progress=False))
    acc = s["accuracy"]
    assert set(acc["test"]) == {"accuracy", "sequence_accuracy", "teacher_forced_accuracy"}
    assert acc["test"]["accuracy"] >= 0.9
    for split in ("test", "test_2x", "test_5x", "test_10x"):
        assert acc[split]["teacher_forced_accuracy"] >= acc[split]["accuracy"]


def test_task_splits_are_seeded_and_disjoint_streams():
    spec = task_spec("xor", 10)
    a, b = task_data(spec, "train", 100), task_data(spec, "train", 100)
    np.testing.assert_array_equal(a[0], b[0])
    assert not np.array_equal(a[0], task_data(spec, "test", 100)[0])
    bits = a[0][:, :, 1]  # channel 1 = bit set
    np.testing.assert_array_equal(a[1], bits[0].astype(int) ^ bits[-1].astype(int))
    assert rows_labels(np.arange(6).reshape(3, 2), True).tolist() == [0, 2, 4, 1, 3, 5]


# --- end to end ------------------------------------------------------------------------------------------

@pytest.mark.slow
def test_xor_is_solved_on_a_small_instance(tmp_path):
    s = reconstruct(ReconConfig(dataset="xor", length=4, branches=256, n_train=600, n_test=400, witness_rate=0.05,
                                out=str(tmp_path / "cvx"), progress=False))
    assert s["accuracy"]["test"]["accuracy"] == 1.0
    assert s["kept_branches"] < 256 and s["final"]["rel_gap"] >= 0
    rows = json.loads((tmp_path / "cvx" / "path.json").read_text())
    assert sum(r.get("chosen", False) for r in rows) == 1
    assert (tmp_path / "cvx" / "path.png").stat().st_size > 0


@pytest.fixture
def run(capsys):
    """``main.py ARGS`` in this process (:func:`tests.conftest.main_in_process`: the same parser and handlers,
    without a new interpreter's start-up, a few seconds each on 2 cores); the exit code is checked by the test."""
    return lambda *args: main_in_process(capsys, *args, ok=False)


@pytest.mark.slow
def test_reconstructed_event_model_exports_and_runs_in_firmware_sim(tmp_path, run):
    """cvx on real N-MNIST with the INT8 dictionary: the exported INT8 model's accumulators are exactly the
    dictionary times its quantized readout; evaluate and export take the checkpoint like any other."""
    from firmware_sim.model_file import load_firmware
    from firmware_sim.simulator import Simulator
    from models.checkpoint.weights import load_model
    from training.data.datasets import limit_dataset
    from training.data.frames import FrameCache
    from training.data.resolve import resolve_datasets

    out = tmp_path / "cvx"
    r = run("train", "--method", "cvx", "--dataset", "nmnist-real", "--limit-train", "100", "--limit-test", "30",
            "--n-bins", "12", "--dictionary", "int8", "--l1", "0.3", "0.1", "--max-iter", "300", "--out", out,
            "--quiet")
    assert r.returncode == 0, r.stderr
    summary = json.loads(r.stdout)
    assert summary["method"] == "cvx" and 0 < summary["kept_features"] <= summary["features"]
    assert summary["test_acc_int8"] >= 0.3  # 30 real test digits, 10 classes: three times chance (0.67 here)
    r = run("export", out / "model", "--out", tmp_path / "fw", "--json")
    assert r.returncode == 0, r.stderr
    fw = load_firmware(tmp_path / "fw")
    model, _ = load_model(out / "model")
    _, test = resolve_datasets("nmnist-real", progress=False)
    windows = FrameCache(limit_dataset(test, 30), model.cfg).windows()
    sim = Simulator(fw)
    counts = conv_counts_integer(hidden_firmware(model, "int8"), windows)
    np.testing.assert_array_equal(sim.classify(windows)["scores"], counts @ fw.readout.astype(np.int64).T)
    # the dictionary of the saved network is what the convex program saw (same witness, same simulator)
    assert conv_dictionary(model, FrameCache(limit_dataset(test, 5), model.cfg), "int8").n_features == counts.shape[1]
    r = run("evaluate", out / "model", "--no-corruptions", "--hardware", "int8", "--limit-test", "30", "--out",
            tmp_path / "eval", "--quiet")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout.splitlines()[-1])["hardware"]["int8"]["accuracy"] == pytest.approx(
        summary["test_acc_int8"])


@pytest.mark.slow
def test_cli_sequence_methods_and_errors(tmp_path, run):
    common = ["--dataset", "xor", "--length", "4", "--branches", "64", "--n-train", "300", "--n-test", "100", "--quiet"]
    r = run("train", "--method", "sg", "--epochs", "2", "--out", tmp_path / "sg", *common)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["method"] == "sg"
    r = run("train", "--method", "sg-cvx", "--witness-from", tmp_path / "sg" / "model", "--finetune-epochs", "1",
            "--out", tmp_path / "sgcvx", *common)
    assert r.returncode == 0, r.stderr
    s = json.loads(r.stdout)
    assert s["method"] == "sg-cvx" and "finetuned" in s and s["witness"] == {}
    r = run("train", "--method", "sg-cvx", "--out", tmp_path / "x", *common)
    assert r.returncode == 2 and "--witness-from" in r.stderr
    r = run("export", tmp_path / "sg" / "model", "--out", tmp_path / "fw")
    assert r.returncode == 2 and "sequence-task network" in r.stderr
    r = run("evaluate", tmp_path / "sg" / "model", "--no-corruptions")
    assert r.returncode == 2 and "sequence-task network" in r.stderr
    r = run("train", "--method", "sast", "--out", tmp_path / "y", *common)
    assert r.returncode == 2 and "sg, cvx or sg-cvx" in r.stderr
    # the sigmoid slope and the convex path's l1 weights are two options
    r = run("train", "--method", "cvx", "--beta", "3", "--out", tmp_path / "z", *common)
    assert r.returncode == 2 and "the convex path's l1 weights are --l1" in r.stderr
    # a P this machine cannot hold: refused in one line, with where the memory would go, before anything is written
    big = [a if a != "64" else "100000000" for a in common]
    r = run("train", "--method", "cvx", "--out", tmp_path / "big", *big)
    assert r.returncode == 2 and "GB available" in r.stderr and "forward pass" in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1 and not (tmp_path / "big").exists()
    # SG training holds no dictionary but a batch's whole forward pass for its backward one: refused the same way,
    # and the comparison (SG first) refuses before its first method runs
    for cmd in (["train", "--method", "sg"], ["sweep", "--convex", "--epochs", "1"]):
        r = run(*cmd, "--out", tmp_path / "big", *big)
        assert r.returncode == 2 and "GB available" in r.stderr, r.stderr
        assert len(r.stderr.strip().splitlines()) == 1 and not (tmp_path / "big").exists()
        assert ("SG training on xor" if cmd[0] == "train" else "training sequences") in r.stderr
        if cmd[0] == "train":
            assert "kept for the backward one" in r.stderr and "lower --branches or --length" in r.stderr
    for method in ("cvx", "sg"):  # event-window augmentation on a sequence task: refused, not silently ignored
        r = run("train", "--method", method, "--mirror", "--onset", "0.5", "--out", tmp_path / "aug", *common)
        assert r.returncode == 2 and "--mirror, --onset change event windows" in r.stderr
        assert not (tmp_path / "aug").exists()
    for task, line in (("add2-ar", "addition needs at least 1 digit"), ("xor", "xor needs at least 2 steps"),
                       ("smnist", "T must divide 28")):  # a length of 0 is refused, not read as the default
        r = run("train", "--method", "cvx", "--dataset", task, "--length", "0", "--out", tmp_path / "len0")
        assert r.returncode == 2 and line in r.stderr and not (tmp_path / "len0").exists()
    for method in ("cvx", "sg"):  # a task that does not exist: the tasks and the datasets named
        r = run("train", "--method", method, "--dataset", "smnist9", "--out", tmp_path / "t")
        assert r.returncode == 2 and ("sequence task (xor, add2, add3, add5, add2-ar, add3-ar, add5-ar, smnist, "
                                      "smnist-full)") in r.stderr


def test_the_memory_estimate_grows_with_branches_rows_and_steps_as_its_parts_say():
    from sast_live.errors import SastLiveError
    from training.convex.memory import check_fits, estimate

    base = estimate(29, 10, 28, False, 1000, (4, 1), "spike", 2000)
    twice_k = estimate(29, 10, 28, False, 2000, (4, 1), "spike", 2000)
    assert twice_k.network == 2 * base.network and twice_k.dictionary_float == 2 * base.dictionary_float
    per_step = estimate(29, 10, 28, True, 1000, (4, 1), "spike", 2000)
    assert per_step.dictionary_float == 28 * base.dictionary_float  # a row per step
    assert base.dictionary_stored * 64 == base.dictionary_float  # spikes as bits, the solver's float64
    check_fits(base, "small", available=10**10)
    with pytest.raises(SastLiveError, match="lower --branches"):
        check_fits(base, "small", available=base.total)  # more than the usable share


def test_the_sg_memory_estimate_grows_with_branches_batch_steps_and_neurons():
    from training.convex.memory import RUNTIME, SG_SAVED_FLOATS, sg_estimate

    base = sg_estimate(28, 28, 1000, (4, 1), 128)
    assert base.forward == 4 * SG_SAVED_FLOATS * 128 * 28 * 1000 * 5  # every neuron of a branch, every step
    assert sg_estimate(28, 28, 2000, (4, 1), 128).forward == 2 * base.forward
    assert sg_estimate(28, 14, 1000, (4, 1), 64).forward * 4 == base.forward
    assert sg_estimate(28, 28, 1000, (8, 1), 128).forward == base.forward * 9 // 5
    assert base.network == 4 * 4 * 1000 * (4 * 28 + 1 * 4)  # weights, gradients and Adam's two moments
    assert (base.dictionary_stored, base.dictionary_float, base.solver) == (0, 0, 0)
    assert sg_estimate(28, 28, 1000, (4, 1), 128, source_bytes=10).runtime == RUNTIME + 10
    assert "kept for the backward one" in base.describe() and "dictionary" not in base.describe()


def test_forward_batches_keep_a_step_in_the_cache_and_witness_rates_do_not_depend_on_them(monkeypatch):
    from training.convex import memory
    from training.convex.witness import layer_rates

    assert memory.forward_batch(1024, (4, 1)) == memory.BATCH == 256  # small networks: as before
    assert memory.forward_batch(28_000, (4, 1)) == memory.STEP_FLOATS // 112_000 == 9
    assert memory.forward_batch(10**8, (4, 1)) == 1 and memory.forward_batch(100, (4, 1), n=5) == 5
    cfg = ParallelConfig("t", 5, branches=16, widths=(3, 2), n_classes=3)
    torch.manual_seed(2)
    model = ParallelLIFNet(cfg)
    x = (torch.rand(6, 40, 5) < 0.5).float()
    whole = layer_rates(model, x)
    monkeypatch.setattr(memory, "STEP_FLOATS", 16 * 3 * 7)  # 7 sequences a batch: 40 = 5 × 7 + 5
    assert memory.forward_batch(16, (3, 2), 40) == 7
    assert layer_rates(model, x) == pytest.approx(whole, rel=1e-12) and min(whole) > 0


def test_witness_rates_step_by_step_equal_the_recorded_spikes():
    cfg = ParallelConfig("t", 5, branches=16, widths=(3, 2), n_classes=3)
    torch.manual_seed(1)
    model = ParallelLIFNet(cfg)
    x = (torch.rand(6, 40, 5) < 0.5).float()
    gaussian_witness(model, x, 0.2)
    with torch.no_grad():
        _, spikes = model.features(x, "hard", record=True)
        rates = model.features(x, "hard", rates=True)
        last = model.features(x, "hard", last=True)
        every = model.features(x, "hard")
    assert rates == pytest.approx([float(s.mean()) for s in spikes], rel=1e-6) and min(rates) > 0
    assert last.shape[0] == 1 and torch.equal(last[0], every[-1])


@pytest.mark.parametrize("worsens", [False, True])
def test_fine_tuning_keeps_its_best_validation_epoch_the_start_included(worsens, monkeypatch):
    """The hybrid's guard: the network ends at the epoch with the best validation accuracy, epoch 0 (the
    starting weights) among them. ``worsens``: every epoch after the start scores lower (the validation score made
    to), so the network must end with its starting weights although training moved them."""
    import training.convex.sequence as seq

    spec = task_spec("xor", 4)
    data = seq.load_sequence_data(spec, 300, 50)
    torch.manual_seed(0)
    model = ParallelLIFNet(ParallelConfig("xor-parallel", spec.n_in, 32, (4, 1), spec.n_classes))
    start = {k: v.clone() for k, v in model.state_dict().items()}
    if worsens:
        scores = iter([0.9, 0.5, 0.6, 0.4, 0.8])
        monkeypatch.setattr(seq, "accuracy", lambda *a, **k: {"accuracy": next(scores)})
    history = seq.train_sequence_sg(model, data, 4, 3e-3, keep_best=True)
    vals = [h["val_acc_hard"] for h in history[:-1]]
    assert [h["epoch"] for h in history[:-1]] == [0, 1, 2, 3, 4]
    best = history[-1]["best_epoch"]
    assert vals[best] == max(vals) and vals.index(max(vals)) == best  # the earliest of the best
    unchanged = all(torch.equal(v, start[k]) for k, v in model.state_dict().items())
    if worsens:
        assert best == 0 and unchanged
    else:  # from random weights SG improves on the start, and the network is the best epoch's
        monkeypatch.undo()
        assert best > 0 and not unchanged and seq.accuracy(model, *data.val)["accuracy"] == max(vals) > vals[0]


def test_smnist_takes_n_train_of_its_fixed_training_digits_evenly_and_refuses_none():
    """``--n-train`` on smnist: that many of its 3,500 training digits, the same number of every class (the split is
    by class), validation and test fixed; more than 3,500 (the default 4,000) gives them all."""
    from sast_live.errors import SastLiveError
    from training.convex.config import ReconConfig
    from training.convex.tasks import split_sizes

    spec = task_spec("smnist", 28)
    x, y = task_data(spec, "train", 700)
    assert x.shape[:2] == (28, 700) and np.bincount(y, minlength=10).tolist() == [70] * 10
    full = task_data(spec, "train", 4000)[1]
    assert len(full) == 3500 and split_sizes(spec, 700) == (700, 500) and split_sizes(spec, 4000) == (3500, 500)
    assert len(task_data(spec, "val", 3)[1]) == 500 and len(task_data(spec, "test", 3)[1]) == 1000
    with pytest.raises(SastLiveError, match="--n-train and --n-test must be at least 1"):
        ReconConfig(dataset="smnist", n_train=0)
