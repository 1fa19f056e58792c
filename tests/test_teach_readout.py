"""Teaching by refitting the readout on the sensor's own features: the hop counts are the live app's windows bit for
bit, the fit reaches its optimum and its certificate is a true bound, the feature bank beside the shipped model is
that model's, and `train --init-from MODEL --dataset TAKES` teaches a new motion in seconds without generating
anything, keeps the old classes and refuses what it cannot use with one clear line."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch

from sast_live.errors import SastLiveError
from sast_live.events import make_events
from sast_live.model_info import bank_path
from sast_live.pipeline.backends import DEFAULT_MODEL
from sast_live.takes import TakeSet
from tests.conftest import main_in_process
from training.teach.bank import MOVED, PARTS, Bank, features_digest
from training.teach.fit import GAP, class_weights, fit_readout, objective

REPO = Path(__file__).resolve().parents[1]
MAIN = [sys.executable, str(REPO / "main.py")]
BASE = DEFAULT_MODEL / "model"


def run(*args, ok=True, timeout=600):
    """``main.py ARGS`` in a process of its own (what a user types, exit code and all)."""
    done = subprocess.run(MAIN + [str(a) for a in args], capture_output=True, text=True, cwd=REPO, timeout=timeout)
    if ok:
        assert done.returncode == 0, done.stderr[-3000:]
    return done


def cli(capsys, *args, ok=True):
    return main_in_process(capsys, *args, ok=ok)


@pytest.mark.slow
@pytest.mark.parametrize("window_ms, taper", [(None, None), (1000, "flat")])
def test_hop_counts_give_the_live_apps_streaming_scores_bit_for_bit(tiny_gestures_v2, window_ms, taper):
    from firmware_sim.features import window_scores
    from firmware_sim.precisions import PRECISIONS
    from firmware_sim.quantize import quantize_checkpoint
    from models.checkpoint.weights import load_model
    from sast_live.formats.registry import read_events
    from sast_live.pipeline import load_backend
    from sast_live.pipeline.options import PipelineOptions
    from sast_live.pipeline.pipeline import stream_windows
    from sast_live.pipeline.windows import hop_weights
    from training.convex.dictionary import hidden_firmware
    from training.teach.bank import take_hops

    model, _ = load_model(str(BASE))
    fw = quantize_checkpoint(BASE, PRECISIONS["int8"].quant_config())
    backend = load_backend(BASE, PRECISIONS["int8"])
    opts = PipelineOptions(model=str(BASE), window_ms=window_ms, taper=taper)
    sim = hidden_firmware(model, "int8")
    n_hops = {None: 2, 1000: 4}[window_ms]  # the model's stored 500 ms, or 1 s, of 250-ms hops
    weights = hop_weights(n_hops, taper or "linear")
    checked = 0
    for path in sorted(Path(tiny_gestures_v2, "test").rglob("*.raw"))[:4]:
        ev = read_events(path)
        wins = stream_windows(backend, ev, backend.bin_cfg.sensor_size, opts)
        counts, bins = take_hops(sim, ev, model.cfg, 10)
        scores = window_scores(fw, counts, bins, n_hops, weights)
        assert len(wins) == len(scores) > 0
        assert np.array_equal(np.array([w.scores for w in wins]), scores)
        checked += len(wins)
    assert checked >= 8


def _problem(n=300, f=40, c=4, seed=0):
    rng = np.random.default_rng(seed)
    centres = rng.normal(0, 1, (c, f))
    y = rng.integers(0, c, n)
    X = np.abs(centres[y] + rng.normal(0, 1.5, (n, f))) / 4
    return X, y, rng.normal(0, 0.3, (c, f)), rng.normal(0, 0.1, c)


def test_the_readout_fit_reaches_the_optimum_and_its_certificate_is_a_true_bound(monkeypatch):
    X, y, W0, b0 = _problem()
    tight = fit_readout(X, y, W0, b0, 0.5, 1e-3)
    assert tight.gap_bound <= GAP and tight.grad_norm < 1e-3  # the certificate the fit aims for
    T = lambda a: torch.from_numpy(np.asarray(a, np.float64))  # noqa: E731
    w = class_weights(y, 4)

    def F(W, b):
        return float(objective(T(W), T(b), T(X), torch.from_numpy(y), T(w), T(W0), T(b0), 0.5, 1e-3))

    assert abs(F(tight.W, tight.b) - tight.objective) < 1e-12
    rng = np.random.default_rng(1)
    for scale in (1e-3, 1e-2, 1e-1):  # no nearby point is lower (beyond what the bound allows)
        for _ in range(5):
            assert F(tight.W + scale * rng.normal(size=W0.shape), tight.b + scale * rng.normal(size=4)) >= \
                tight.objective - tight.gap_bound
    import training.teach.fit as fit_module

    monkeypatch.setattr(fit_module, "POLISH", 0)  # three float32 steps and no polish: a point far from the optimum
    loose = fit_readout(X, y, W0, b0, 0.5, 1e-3, tol=3e-2, max_iter=3)
    assert loose.gap_bound > tight.gap_bound
    assert 0 <= loose.objective - tight.objective <= loose.gap_bound + 1e-12  # the bound holds where it is loose
    strong = fit_readout(X, y, W0, b0, 0.5, 1e3)  # a strong pull keeps the base readout
    assert np.abs(strong.W - W0).max() < 1e-2
    right = ((X @ tight.W.T + tight.b).argmax(1) == y).mean()
    assert right > ((X @ W0.T + b0).argmax(1) == y).mean() and right > 0.8


def test_one_pull_per_class_keeps_the_strongly_pulled_rows_and_frees_the_others():
    X, y, W0, b0 = _problem()
    lam = np.array([1e3, 1e3, 1e3, 1e-3])  # the first three classes kept, the fourth taught
    fit = fit_readout(X, y, W0, b0, 0.5, lam)
    assert np.abs(fit.W[:3] - W0[:3]).max() < 1e-2 and np.abs(fit.W[3] - W0[3]).max() > 0.1
    assert fit.gap_bound < 1e-4  # the bound uses the weakest pull (the strong convexity constant): looser here
    uniform = fit_readout(X, y, W0, b0, 0.5, np.full(4, 1e-3))
    same = fit_readout(X, y, W0, b0, 0.5, 1e-3)
    assert np.allclose(uniform.W, same.W, atol=1e-6)  # one λ per class, all equal, is one λ
    with pytest.raises(SastLiveError, match="one per class"):
        fit_readout(X, y, W0, b0, 0.5, np.ones(3))


def test_class_weights_make_every_class_weigh_the_same_and_bad_fits_are_refused():
    w = class_weights(np.array([0, 0, 0, 1, 2, 2]), 4)
    assert np.isclose(w.sum(), 1) and np.isclose(w[:3].sum(), w[3]) and np.isclose(w[4:].sum(), w[3])
    X, y, W0, b0 = _problem(n=20)
    for bad, msg in ((dict(lam=0.0), "λ > 0"), (dict(y=np.full(20, 9)), "class indices below 4"),
                     (dict(X=X[:, :3]), "do not agree"), (dict(X=X * np.nan), "finite features")):
        kw = {"X": X, "y": y, "W0": W0, "b0": b0, "temperature": 0.5, "lam": 1e-3, **bad}
        with pytest.raises(SastLiveError, match=msg):
            fit_readout(**kw)


def _bank(n_rec=6, F=8, classes=("a", "b", "c")) -> Bank:
    rng = np.random.default_rng(0)
    hops = rng.integers(2, 5, n_rec)
    starts = np.concatenate([[0], np.cumsum(hops)])
    return Bank(rng.integers(0, 10, (int(starts[-1]), F)).astype(np.uint8), np.full(int(starts[-1]), 10, np.uint16),
                starts.astype(np.int64), (np.arange(n_rec) % len(classes)).astype(np.int16),
                (np.arange(n_rec) % len(PARTS)).astype(np.uint8), classes, "d1g35t", 10, "made up")


def test_a_feature_bank_round_trips_grows_and_shrinks_and_refuses_damage(tmp_path):
    bank = _bank()
    path = bank.save(tmp_path / "m.bank.npz")
    back = Bank.load(path)
    assert back.classes == bank.classes and back.digest == bank.digest and back.hop_bins == 10
    for name in ("counts", "bins", "starts", "labels", "parts"):
        assert np.array_equal(getattr(back, name), getattr(bank, name))
    assert back.moved == 0 and Bank.load(replace(bank, moved=2).save(tmp_path / "mv.bank.npz")).moved == 2
    assert not back.nuisance and Bank.load(replace(bank, moved=1, nuisance=True).save(tmp_path / "n.npz")).nuisance
    grown = bank.with_recordings([(np.ones((3, 8)), np.full(3, 10), 3, "fit")], (*bank.classes, "d"))
    assert len(grown) == 7 and grown.per_class("fit")["d"] == 1
    c, b, label = list(grown.recordings("fit"))[-1]
    assert label == 3 and c.shape == (3, 8) and c.sum() == 24
    fewer = grown.without_class("b")
    assert fewer.classes == ("a", "c", "d") and len(fewer) == 5
    assert sorted(set(fewer.labels.tolist())) == [0, 1, 2]
    assert sum(len(c) for c, _, _ in (r for p in PARTS for r in fewer.recordings(p))) == len(fewer.counts)
    with pytest.raises(SastLiveError, match="only grow at the end"):
        bank.with_recordings([], ("b", "a"))
    # the anchor (the factory readout every fit is pulled towards) travels with the bank and its recordings
    rng = np.random.default_rng(1)
    W, b = rng.normal(size=(3, 8)), rng.normal(size=3)
    anchored = grown.with_anchor(W, b, bank.classes)
    W0, b0 = anchored.start_readout()
    assert np.array_equal(W0[:3], W) and not W0[3].any() and b0[3] == pytest.approx(b.mean())  # d: a new row
    back = Bank.load(anchored.save(tmp_path / "a.bank.npz"))
    assert back.anchor[2] == bank.classes and np.array_equal(back.anchor[0], W) and np.array_equal(back.anchor[1], b)
    fewer_anchored = back.without_class("b")
    assert fewer_anchored.anchor[2] == ("a", "c") and np.array_equal(fewer_anchored.anchor[0], W[[0, 2]])
    assert fewer_anchored.start_readout()[0].shape == (3, 8)
    with pytest.raises(SastLiveError, match="does not fit"):
        grown.with_anchor(W[:, :4], b, bank.classes)
    # where each recording came from: the bank's own dataset (−1) or a takes folder, kept through save and subsets
    taken = grown.with_recordings([(np.ones((2, 8)), np.full(2, 10), 0, "fit")], grown.classes, folder="/takes/F")
    assert taken.from_folder("/takes/F").tolist() == [False] * 7 + [True] and not taken.from_folder("/other").any()
    back = Bank.load(taken.save(tmp_path / "o.bank.npz"))
    assert back.folders == ("/takes/F",) and np.array_equal(back.origins(), taken.origins())
    assert back.keeping(back.labels == 0).from_folder("/takes/F").sum() == 1
    with pytest.raises(SastLiveError, match="no anchor"):
        grown.start_readout()
    path.write_bytes(path.read_bytes()[:100])
    with pytest.raises(SastLiveError, match="not a readable feature bank"):
        Bank.load(path)
    with pytest.raises(SastLiveError, match="teach-bank"):
        Bank.load(tmp_path / "none.bank.npz")
    assert bank_path("runs/x/model.json") == Path("runs/x/model.bank.npz")
    assert bank_path(DEFAULT_MODEL) == bank_path(BASE) == BASE.with_name("model.bank.npz")  # a run folder too


def test_the_shipped_model_has_a_bank_of_its_own_hidden_layers():
    from models.checkpoint.weights import load_model

    model, _ = load_model(str(BASE))
    bank = Bank.load(bank_path(BASE))
    assert bank.digest == features_digest(model) and bank.classes == tuple(model.cfg.classes)
    assert bank.moved == MOVED >= 1 and "moved" in bank.source
    assert bank.nuisance and "noise and hot pixels" in bank.source  # as training saw its windows
    for part, least in (("fit", 20), ("validation", 5), ("test", 15)):
        per = bank.per_class(part)
        assert set(per) == set(bank.classes) and min(per.values()) >= least, part
    other = model.convs[0].weight.detach().clone()
    with torch.no_grad():
        model.convs[0].weight[0, 0, 0, 0] += 1e-3
    assert features_digest(model) != bank.digest  # a changed hidden layer is another bank
    model.convs[0].weight.data.copy_(other)


def test_moved_copies_are_drawn_as_training_moves_its_windows_never_the_recording_itself():
    """The bank's moved copies (what keeps a refitted readout robust off the nominal geometry): each change of
    ``--augment-geometry --geometry-each`` on about half of the draws, inside its ranges, at least one per draw."""
    from types import SimpleNamespace

    from sast_live.transforms.geometry import Warp
    from training.augment import GEOMETRY_EACH as G
    from training.teach.bank import moved_copies, moved_warp

    rng = np.random.default_rng(0)
    warps = [moved_warp(rng, 4) for _ in range(2000)]
    assert not any(w.identity for w in warps)
    on = np.array([[w.scale != 1, w.rotation != 0, w.shift != (0, 0), w.speed != 1] for w in warps])
    assert np.allclose(on.mean(0), 0.5 / (1 - 0.5 ** 4), atol=0.04)  # each change on half the draws, given ≥ 1
    assert all(G["scale"][0] <= w.scale <= G["scale"][1] and abs(w.rotation) <= G["rotation"] and
               G["speed"][0] <= w.speed <= G["speed"][1] and max(map(abs, w.shift)) <= 4 * G["geo_shift"] and
               w.shift[0] % 4 == 0 for w in warps)  # the move in sensor pixels: 4 per input pixel
    assert any(w.scale < 0.7 for w in warps) and any(w.scale > 1.4 for w in warps)
    cfg = SimpleNamespace(sensor_size=(128, 128), in_size=(32, 32))
    t = np.arange(0, 1_000_000, 50)
    events = make_events(t, 40 + t % 50, 60 + t % 9, t % 2)
    a = moved_copies(events, cfg, 3, np.random.default_rng(5))
    b = moved_copies(events, cfg, 3, np.random.default_rng(5))
    assert len(a) == 3 and all(np.array_equal(x, y) for x, y in zip(a, b, strict=True))  # reproducible
    assert not any(np.array_equal(x, events) for x in a) and Warp().identity
    # with the nuisance (the default) each copy gets noise and hot pixels too: events the moves alone never add
    clean = moved_copies(events, cfg, 20, np.random.default_rng(5), nuisance=False)
    noisy = moved_copies(events, cfg, 20, np.random.default_rng(5))
    assert sum(map(len, noisy)) > sum(map(len, clean))


def test_the_old_classes_check_says_when_a_taught_class_took_their_windows():
    from training.teach.old_classes import TOLERANCE, check_old_classes

    rng = np.random.default_rng(0)
    centres = np.eye(3, 6) * 4
    yv = np.repeat([0, 1], 50)  # validation windows of the old classes a and b only
    Xv = centres[yv] + rng.normal(0, 0.3, (100, 6))
    base_W, base_b = centres[:2], np.zeros(2)
    names = ("a", "b", "new")
    kept = check_old_classes(centres, np.zeros(3), base_W, base_b, Xv, yv, names)
    assert kept.held and kept.base == kept.after == 1.0 and kept.warning() is None
    # a new row that answers b's windows louder than b's own: half the old windows lost, b named as the one
    greedy = np.vstack([centres[:2], centres[1] * 1.5])
    lost = check_old_classes(greedy, np.zeros(3), base_W, base_b, Xv, yv, names)
    assert not lost.held and lost.after == pytest.approx(0.5) and lost.base - lost.after > TOLERANCE
    assert lost.worst() == [("b", 1.0, 0.0)] and "b 100% → 0%" in lost.warning()
    assert lost.to_dict()["per_class"] == {"a": [1.0, 1.0], "b": [1.0, 0.0]}
    from sast_live.takes import finetune_lines

    line = finetune_lines({"old_classes_validation": lost.to_dict()})[0]  # what train prints and the panel shows
    assert "100.0% → 50.0%" in line and "Warning: the old classes lost 50.0 points" in line
    assert "Warning" not in finetune_lines({"old_classes_validation": kept.to_dict()})[0]
    assert check_old_classes(greedy, np.zeros(3), base_W, base_b, Xv[:0], yv[:0], names) is None


@pytest.mark.slow
def test_teach_a_new_motion_in_seconds_keeping_the_old_classes(push_takes, tmp_path, capsys):
    """8 takes of a motion none of the 11 classes is (6 to fit, 2 held out); nothing generated or rendered."""
    out = tmp_path / "run"
    done = cli(capsys, "train", "--init-from", BASE, "--dataset", push_takes, "--out", out, "--quiet")
    assert "step 4/4" in done.stdout and "held-out takes of push_both_hands" in done.stdout
    summary = json.loads((out / "finetune.json").read_text())
    assert summary["method"] == "readout" and summary["certificate"]["gap_bound"] <= GAP
    held = summary["held_out_takes"]["push_both_hands"]
    streamed = summary["held_out_takes_streaming"]["push_both_hands"]
    assert held["n"] == 2 and streamed["windows"] >= 4
    old = summary["old_classes"]
    assert old["n"] > 1000 and old["int8_after"] >= old["int8_before"] - 0.01  # the bar: within 1 point
    meta = json.loads((out / "model.json").read_text())
    assert meta["model_cfg"]["classes"][-1] == "push_both_hands" and len(meta["model_cfg"]["classes"]) == 13
    assert meta["taught"] == [{"class": "push_both_hands", "takes": 6, "held_out": 2,
                               "takes_folder": str(push_takes.resolve())}]
    base_decision = json.loads(BASE.with_suffix(".json").read_text())["decision"]
    for key in ("temperature", "min_confidence", "window_ms", "taper", "reject_class"):
        assert meta["decision"][key] == base_decision[key], key  # the floor and window are the base model's
    bank = Bank.load(bank_path(out / "model"))
    # each training take is stored with as many moved copies as the bank's own fit recordings have
    assert bank.moved == 1 and bank.classes[-1] == "push_both_hands"
    assert bank.per_class("fit")["push_both_hands"] == 6 * (1 + bank.moved)
    # the INT8 firmware folder runs in the live app with the new class, and names it on a held-out take
    take = next(t for t in TakeSet.open(push_takes).takes() if t.split == "test")
    line = cli(capsys, "replay", take.path, "--model", out / "firmware-int8", "--headless", "--json", "--speed", "0")
    wins = [json.loads(x) for x in line.stdout.splitlines() if x.startswith("{")]
    assert wins and all(len(w["scores"]) == 13 for w in wins)


@pytest.mark.slow
def test_teaching_refuses_what_it_cannot_use(push_takes, tmp_path, capsys):
    bad = run("train", "--init-from", BASE, "--dataset", push_takes, "--epochs", "3", "--out", tmp_path / "r",
              ok=False)  # a process of its own: the exit code and the one line a user sees
    assert bad.returncode == 2 and "--epochs" in bad.stderr and "--method sast" in bad.stderr
    bad = cli(capsys, "train", "--method", "readout", "--dataset", "gestures-v2", "--out", tmp_path / "r", ok=False)
    assert bad.returncode == 2 and "give --init-from MODEL and a folder of takes" in bad.stderr
    bad = cli(capsys, "train", "--init-from", BASE, "--dataset", push_takes, "--readout-l2", "-1", "--out",
              tmp_path / "r", ok=False)
    assert bad.returncode == 2 and "--readout-l2 must be a positive number" in bad.stderr
    # a copy of the model whose bank was computed with other hidden layers
    model = tmp_path / "m" / "model"
    model.parent.mkdir()
    for suffix in (".json", ".safetensors"):
        shutil.copy(BASE.with_suffix(suffix), model.with_suffix(suffix))
    from dataclasses import replace

    replace(Bank.load(bank_path(BASE)), digest="0" * 16).save(bank_path(model))
    bad = cli(capsys, "train", "--init-from", model, "--dataset", push_takes, "--out", tmp_path / "r", ok=False)
    assert bad.returncode == 2 and "other hidden layers" in bad.stderr and "teach-bank" in bad.stderr
    bank_path(model).unlink()
    bad = cli(capsys, "train", "--init-from", model, "--dataset", push_takes, "--out", tmp_path / "r", ok=False)
    assert bad.returncode == 2 and "no feature bank" in bad.stderr
    for out in (bad.stdout, bad.stderr):
        assert "Traceback" not in out


@pytest.mark.slow
def test_teach_one_class_after_another_then_forget_one(push_takes, small_bank_model, tmp_path, capsys):
    """A, then B from A's model (a new folder begun from it), then A forgotten: each model lists what it was taught
    and from how many takes (`info MODEL`), A's takes travel in the bank, and the readout keeps its old rows' place.
    From the shipped model with a small bank (the mechanics are under test; the figures in the test above)."""
    a, b, f = tmp_path / "a", tmp_path / "b", tmp_path / "f"
    cli(capsys, "train", "--init-from", small_bank_model, "--dataset", push_takes, "--out", a, "--quiet")
    again = tmp_path / "again"  # A taught again from its own model and folder: the folder's takes replace A's
    cli(capsys, "train", "--init-from", a / "model", "--dataset", push_takes, "--out", again, "--quiet")
    copies = 1 + Bank.load(bank_path(small_bank_model)).moved  # a take and its moved copies
    assert Bank.load(bank_path(again / "model")).per_class("fit")["push_both_hands"] == 6 * copies
    assert [h["class"] for h in json.loads((again / "model.json").read_text())["taught"]] == ["push_both_hands"]
    takes_b = tmp_path / "takes-b"
    cli(capsys, "record", "synthetic:people:raise_both_arms", "--label", "raise_both_arms", "--dataset", takes_b,
        "--takes", "4", "--seconds", "1.0", "--gap", "0.2", "--speed", "0", "--model", a / "model", "--quiet")
    cli(capsys, "train", "--init-from", a / "model", "--dataset", takes_b, "--out", b, "--quiet")
    meta = json.loads((b / "model.json").read_text())
    assert meta["model_cfg"]["classes"][-2:] == ["push_both_hands", "raise_both_arms"]
    assert [h["class"] for h in meta["taught"]] == ["push_both_hands", "raise_both_arms"]
    bank = Bank.load(bank_path(b / "model"))
    assert bank.per_class("fit")["push_both_hands"] == 6 * copies
    assert bank.per_class("fit")["raise_both_arms"] == 3 * copies
    summary = json.loads((b / "finetune.json").read_text())
    assert summary["old_classes"]["n"] > 300  # the old classes, A's held-out takes among them, before and after
    assert summary["old_classes_validation"]["n"] > 300
    # B's readout is the optimum of the problem anchored at the factory readout over the whole bank (A's takes
    # included): what teaching A and B at once gives, so the pull never drifts with each class taught. Checked by the
    # optimum's own test: the gradient there is nil (a tiny certificate), and it is not the optimum of the problem
    # anchored at A's readout (what teaching B from A used to solve)
    from firmware_sim.features import windows_of
    from models.checkpoint.weights import load_model
    from models.decision import Decision
    from training.teach.readout import LAMBDA, streaming_setup

    base_model, base_meta = load_model(str(small_bank_model))
    assert bank.anchor[2] == tuple(base_model.cfg.classes)
    assert np.allclose(bank.anchor[0], base_model.readout.weight.detach().double().numpy())
    decision = Decision.from_dict(base_meta["decision"], base_model.cfg.classes)
    X, y = windows_of(bank.recordings("fit"), *streaming_setup(decision, base_model.cfg.bin_us, bank.hop_bins))
    b_model, _ = load_model(str(b / "model"))
    a_model, _ = load_model(str(a / "model"))

    def certificate(anchor_W, anchor_b):
        W = b_model.readout.weight.detach().double().requires_grad_(True)
        bias = b_model.readout.bias.detach().double().requires_grad_(True)
        f = objective(W, bias, torch.from_numpy(X), torch.from_numpy(y),
                      torch.from_numpy(class_weights(y, len(bank.classes))), torch.from_numpy(anchor_W),
                      torch.from_numpy(anchor_b), decision.temperature, LAMBDA)
        f.backward()
        return float((W.grad ** 2).sum() + (bias.grad ** 2).sum()) / (2 * LAMBDA)

    assert certificate(*bank.start_readout()) < 1e-5
    from_a = np.vstack([a_model.readout.weight.detach().double().numpy(), np.zeros((1, X.shape[1]))])
    from_a_b = a_model.readout.bias.detach().double().numpy()
    from_a_b = np.append(from_a_b, from_a_b.mean())  # a new row as teaching B from A started it
    assert certificate(from_a, from_a_b) > 100 * certificate(*bank.start_readout())
    # A is kept: on A's held-out takes B's model names A about as often as A's own model did
    named = {}
    for m in (a, b):
        named[m] = 0
        for take in (t for t in TakeSet.open(push_takes).takes() if t.split == "test"):
            line = cli(capsys, "replay", take.path, "--model", m / "firmware-int8", "--headless", "--json", "--speed",
                       "0")
            named[m] += sum(json.loads(x)["name"] == "push_both_hands" for x in line.stdout.splitlines()
                            if x.startswith("{"))
    assert named[a] >= 2 and named[b] >= named[a] - 2, named
    info = cli(capsys, "info", b / "model").stdout
    assert "push_both_hands from 6 takes (2 held out)" in info and "raise_both_arms from 3 takes (1 held out)" in info
    done = cli(capsys, "forget", b / "model", "push_both_hands", "--out", f)
    assert "13 classes" in done.stdout
    meta = json.loads((f / "model.json").read_text())
    assert meta["model_cfg"]["classes"][-1] == "raise_both_arms" and len(meta["model_cfg"]["classes"]) == 13
    assert [h["class"] for h in meta["taught"]] == ["raise_both_arms"] and meta["decision"]["reject_class"] == 11
    assert "push_both_hands" not in Bank.load(bank_path(f / "model")).classes
    bad = cli(capsys, "forget", f / "model", "no_gesture", "--out", tmp_path / "x", ok=False)
    assert bad.returncode == 2 and "no-gesture class" in bad.stderr


@pytest.mark.slow
def test_nothing_takes_taught_again_replace_themselves_never_the_banks_own(small_bank_model, tmp_path, capsys):
    """"Nothing" takes under no_gesture (an old class), taught twice from the same folder: the second time its takes
    stand in for the first time's, and the bank's own no_gesture recordings stay."""
    takes = tmp_path / "nothing"
    cli(capsys, "record", "synthetic:people:no_gesture", "--label", "no_gesture", "--dataset", takes, "--takes", "4",
        "--seconds", "1.0", "--gap", "0.2", "--speed", "0", "--model", small_bank_model, "--quiet")
    small = Bank.load(bank_path(small_bank_model))
    own, copies = small.per_class("fit")["no_gesture"], 1 + small.moved
    cli(capsys, "train", "--init-from", small_bank_model, "--dataset", takes, "--out", tmp_path / "one", "--quiet")
    assert Bank.load(bank_path(tmp_path / "one" / "model")).per_class("fit")["no_gesture"] == own + 3 * copies
    cli(capsys, "train", "--init-from", tmp_path / "one" / "model", "--dataset", takes, "--out", tmp_path / "two",
        "--quiet")
    bank = Bank.load(bank_path(tmp_path / "two" / "model"))
    assert bank.per_class("fit")["no_gesture"] == own + 3 * copies
    assert bank.from_folder(str(takes.resolve())).sum() == 3 * copies + 1


@pytest.mark.slow
def test_a_recorded_stand_in_person_comes_with_the_models_labels(tmp_path, capsys):
    """`record synthetic:people:A,B,C FILE`: the motions in turn, and FILE's _labels.csv in the model's classes
    (a motion the model does not know is left unlabelled and said so; a segment cut short is not labelled)."""
    out = tmp_path / "try.raw"
    done = cli(capsys, "record", "synthetic:people:hand_clap,no_gesture,push_both_hands,arm_roll", out, "--seconds",
               "4", "--speed", "0", "--quiet")
    assert "push_both_hands left unlabelled" in done.stdout
    rows = (tmp_path / "try_labels.csv").read_text().splitlines()
    assert rows[0] == "class,startTime_usec,endTime_usec" and rows[1] == "1,0,2500000"
    spans = [tuple(int(v) for v in r.split(",")) for r in rows[1:]]
    assert all(b - a == 2_500_000 for _, a, b in spans)  # whole segments only (one cut short is not labelled)
    assert {c for c, _, _ in spans} <= {1, 8} and all((a // 2_500_000) % 4 == (0 if c == 1 else 3) for c, a, _ in spans)
    score = cli(capsys, "replay", out, "--headless", "--score", "--speed", "0").stdout
    assert "hand_clap" in score and "majority right in" in score
    # without --seconds: one pass through the motions, then the recording ends by itself (it used to run until
    # Ctrl-C: the person performs them again and again)
    from sast_live.formats.registry import read_events

    once = tmp_path / "once.raw"
    cli(capsys, "record", "synthetic:people:hand_clap,no_gesture,hand_clap", once, "--speed", "0", "--quiet")
    ev = read_events(once)
    assert 7_000_000 < int(ev["t"][-1]) < 7_500_000  # three 2.5-s segments
    # both claps labelled: the last segment is whole although its last event comes before its end
    assert (tmp_path / "once_labels.csv").read_text().splitlines()[1:] == ["1,0,2500000", "1,5000000,7500000"]
    bad = cli(capsys, "record", "synthetic:people:hand_clap,moonwalk", out, "--seconds", "1", ok=False)
    assert bad.returncode == 2 and "unknown motion 'moonwalk'" in bad.stderr
