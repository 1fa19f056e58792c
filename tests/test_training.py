"""Training on tiny models and a few batches: methods, second minibatch, checkpoints, exact resume."""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pytest
import torch

from models.checkpoint.weights import load_checkpoint, load_model
from sast_live.errors import SastLiveError
from training.config import TrainConfig
from training.train import train


def tiny(tmp_path, **kw):
    base = dict(dataset="nmnist-real", epochs=2, batch_size=16, limit_train=48, limit_test=20, n_bins=6,
                out=str(tmp_path / "run"), progress=False, seed=3)
    base.update(kw)
    return TrainConfig(**base)


def weights(path):
    model, meta = load_model(path)
    return meta, model


@pytest.mark.parametrize("method", ["sast", "surrogate", "sg"])
def test_methods_run_and_write_logs_and_checkpoints(tmp_path, real_dir, method):
    final = train(tiny(tmp_path, method=method))
    lines = [json.loads(line) for line in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    assert [line["epoch"] for line in lines] == [1, 2] and lines[-1] == final
    # SAST takes two gradient passes per batch, the baselines one
    assert final["gradient_passes"] == (6 if method == "sast" else 3)
    meta, model = weights(tmp_path / "run" / "model")
    # the logged test accuracy is the saved model's, evaluated again from the file
    from training.data.datasets import limit_dataset
    from training.data.frames import FrameCache
    from training.data.resolve import resolve_datasets
    from training.inference import evaluate_accuracy

    test = limit_dataset(resolve_datasets("nmnist-real", progress=False)[1], 20)
    assert evaluate_accuracy(model, FrameCache(test, model.cfg), "hard", "cpu") == final["test_acc_hard"]
    assert meta["train_cfg"]["method"] == method and meta["model_cfg"]["n_bins"] == 6
    assert not any(f.suffix == ".pt" for f in (tmp_path / "run").iterdir())  # no pickles anywhere


@pytest.mark.slow
def test_resume_after_interruption_gives_the_same_weights(tmp_path, real_dir):
    full = tiny(tmp_path, out=str(tmp_path / "a"), method="sast", epochs=3)
    train(full)
    part = tiny(tmp_path, out=str(tmp_path / "b"), method="sast", epochs=1)
    train(part)  # "killed" after epoch 1 (its last checkpoint is what a killed run leaves)
    train(tiny(tmp_path, out=str(tmp_path / "b"), method="sast", epochs=3, resume=True))
    _, a = weights(tmp_path / "a" / "model")
    _, b = weights(tmp_path / "b" / "model")
    for (ka, va), (kb, vb) in zip(a.state_dict().items(), b.state_dict().items(), strict=True):
        assert ka == kb and torch.equal(va, vb)
    hist_a = [json.loads(x) for x in (tmp_path / "a" / "metrics.jsonl").read_text().splitlines()]
    hist_b = [json.loads(x) for x in (tmp_path / "b" / "metrics.jsonl").read_text().splitlines()]
    assert [h["loss"] for h in hist_a] == [h["loss"] for h in hist_b]


@pytest.mark.parametrize("killed", ["after the log", "after the checkpoint"])
def test_a_kill_between_log_and_checkpoint_resumes_with_each_epoch_logged_once(tmp_path, real_dir, killed):
    """What a kill leaves on disk, either way round: the log one epoch ahead of the checkpoint, or behind it."""
    out = tmp_path / "run"
    train(tiny(tmp_path, out=str(out), method="surrogate", epochs=2))
    (out / "model.json").unlink()  # the run did not finish
    (out / "model.safetensors").unlink()
    log = (out / "metrics.jsonl").read_text().splitlines()
    if killed == "after the log":  # epoch 3's line written, its checkpoint not
        (out / "metrics.jsonl").write_text("\n".join(log + [log[-1].replace('"epoch": 2', '"epoch": 3')]) + "\n")
    else:  # epoch 2's checkpoint written, its line not
        (out / "metrics.jsonl").write_text(log[0] + "\n")
    train(tiny(tmp_path, out=str(out), method="surrogate", epochs=3, resume=True))
    lines = [json.loads(x) for x in (out / "metrics.jsonl").read_text().splitlines()]
    assert [x["epoch"] for x in lines] == [1, 2, 3]
    assert lines[:2] == [json.loads(x) for x in log]  # the epochs before the kill, as they were measured


def test_second_minibatch_changes_the_update(tmp_path, real_dir):
    train(tiny(tmp_path, out=str(tmp_path / "one"), method="sast", epochs=1))
    train(tiny(tmp_path, out=str(tmp_path / "two"), method="sast", epochs=1, second_batch=True))
    _, a = weights(tmp_path / "one" / "model")
    _, b = weights(tmp_path / "two" / "model")
    assert not torch.equal(a.readout.weight, b.readout.weight)


def test_resume_refuses_other_settings(tmp_path, real_dir):
    train(tiny(tmp_path, method="surrogate", epochs=1))
    with pytest.raises(SastLiveError, match="other settings"):
        train(tiny(tmp_path, method="sast", epochs=2, resume=True))


def test_bad_checkpoint_files_are_clear_errors(tmp_path):
    (tmp_path / "x.json").write_text("{}")
    (tmp_path / "x.safetensors").write_bytes(b"garbage")
    with pytest.raises(SastLiveError, match="unreadable|not a SAST-Live"):
        load_checkpoint(tmp_path / "x")
    with pytest.raises(SastLiveError, match="need both"):
        load_checkpoint(tmp_path / "missing")


def test_bad_options():
    with pytest.raises(SastLiveError):
        TrainConfig(method="adam")
    with pytest.raises(SastLiveError):
        TrainConfig(rho=-1)
    assert np.isfinite(TrainConfig().lr)


def test_a_finished_run_is_never_overwritten(tmp_path, real_dir):
    train(tiny(tmp_path, method="surrogate", epochs=1))
    before = (tmp_path / "run" / "model.safetensors").read_bytes()
    with pytest.raises(SastLiveError, match="--resume"):
        train(tiny(tmp_path, method="surrogate", epochs=1))
    assert (tmp_path / "run" / "model.safetensors").read_bytes() == before


def test_the_real_digits_are_found_where_sast_shared_data_says(tmp_path, monkeypatch, real_dir):
    from training.data.resolve import resolve_split

    (tmp_path / "slayer-nmnist").symlink_to(real_dir / "slayer-nmnist")
    monkeypatch.setenv("SAST_SHARED_DATA", str(tmp_path))
    assert len(resolve_split("nmnist-real", "test", progress=False)) == 100
    monkeypatch.setenv("SAST_SHARED_DATA", str(tmp_path / "elsewhere"))
    with pytest.raises(SastLiveError, match="elsewhere"):
        resolve_split("nmnist-real", "test", progress=False)


def test_cosine_schedule_decays_from_lr_to_zero_by_epoch():
    from training.config import TrainConfig
    from training.train import epoch_lr

    cfg = TrainConfig(lr=0.01, epochs=4, schedule="cosine")
    assert [round(epoch_lr(cfg, e), 6) for e in range(4)] == [0.01, 0.008536, 0.005, 0.001464]
    assert epoch_lr(TrainConfig(lr=0.01), 3) == 0.01
    with pytest.raises(SastLiveError, match="schedule"):
        TrainConfig(schedule="step")


def test_rho_warmup_grows_rho_from_zero():
    from training.config import TrainConfig
    from training.train import epoch_rho

    cfg = TrainConfig(rho=0.3, rho_warmup=3)
    assert [round(epoch_rho(cfg, e), 6) for e in range(5)] == [0.0, 0.1, 0.2, 0.3, 0.3]
    assert epoch_rho(TrainConfig(rho=0.3), 0) == 0.3


def test_the_hard_loss_trains_the_deployed_network_too(tmp_path, real_dir):
    """--hard-loss w: the loss is (1-w)·CE(surrogate forward) + w·CE(hard forward); the hard term has a gradient
    (the surrogate one) and changes the update; an impossible weight or the SG method with it is refused."""
    from models.networks import build_model
    from training.networks import model_config_for
    from training.train import loss_and_acc

    torch.manual_seed(0)
    mcfg = model_config_for(TrainConfig(n_bins=4), [str(i) for i in range(10)], (34, 34))
    net = build_model(mcfg)
    x = (torch.rand(4, 3, 2, 34, 34) < 0.05).float()  # (T, B, C, H, W)
    y = torch.tensor([1, 2, 3])
    soft, _ = loss_and_acc(net, x, y, "surrogate")
    hard = torch.nn.functional.cross_entropy(net(x, "sg"), y)
    mixed, _ = loss_and_acc(net, x, y, "surrogate", 0.25)
    assert torch.isclose(mixed, 0.75 * soft + 0.25 * hard)
    net.zero_grad()
    loss_and_acc(net, x, y, "surrogate", 1.0)[0].backward()
    assert net.convs[0].weight.grad.abs().sum() > 0  # through the surrogate gradient of the hard spikes
    train(tiny(tmp_path, out=str(tmp_path / "plain"), method="surrogate", epochs=1))
    train(tiny(tmp_path, out=str(tmp_path / "dual"), method="surrogate", epochs=1, hard_loss=0.5))
    _, a = weights(tmp_path / "plain" / "model")
    _, b = weights(tmp_path / "dual" / "model")
    assert not torch.equal(a.readout.weight, b.readout.weight)
    with pytest.raises(SastLiveError, match="weight from 0 to 1"):
        TrainConfig(hard_loss=1.5)
    with pytest.raises(SastLiveError, match="hard forward pass alone"):
        TrainConfig(method="sg", hard_loss=0.5)


def test_channels_shape_a_wider_network_and_wrong_counts_are_refused(tmp_path, real_dir):
    """--channels C1 C2: one output-channel count per conv layer of the dataset's network (the readout follows);
    more counts add stride-2 layers shaped like the last; fewer are refused."""
    from training.networks import model_config_for

    digits = [str(i) for i in range(10)]
    wide = model_config_for(TrainConfig(channels=(24, 48)), digits, (34, 34))
    assert [c.out_channels for c in wide.layers] == [24, 48]
    base = model_config_for(TrainConfig(), digits, (34, 34))
    assert [(c.kernel, c.stride) for c in wide.layers] == [(c.kernel, c.stride) for c in base.layers]
    deeper = model_config_for(TrainConfig(channels=(8, 8, 6)), digits, (34, 34))
    assert deeper.layers[2] == replace(base.layers[-1], out_channels=6)
    with pytest.raises(SastLiveError, match="at least one count per convolutional layer"):
        model_config_for(TrainConfig(channels=(8,)), digits, (34, 34))
    with pytest.raises(SastLiveError, match="positive"):
        TrainConfig(channels=(8, 0))
    train(tiny(tmp_path, method="surrogate", epochs=1, channels=(5, 7)))
    model, _ = load_model(tmp_path / "run" / "model")
    assert [c.out_channels for c in model.cfg.layers] == [5, 7] and model.convs[1].weight.shape[0] == 7


def test_init_from_with_more_channels_adds_layers_and_keeps_the_checkpoints(tmp_path, real_dir):
    """--init-from CKPT --channels (its counts) C: a layer added after the checkpoint's, whose layers start with
    their weights and whose readout keeps its biases; any other shape is refused in one line."""
    import torch

    from training.networks import initial_network

    train(tiny(tmp_path, method="surrogate", epochs=1, channels=(5, 7)))
    base, _ = load_model(tmp_path / "run" / "model")
    classes = base.cfg.classes
    cfg, grown = initial_network(str(tmp_path / "run" / "model"), classes, (34, 34), channels=(5, 7, 6))
    assert [c.out_channels for c in cfg.layers] == [5, 7, 6] and grown.cfg == cfg
    for k in range(2):
        assert torch.equal(grown.convs[k].weight, base.convs[k].weight)
    assert grown.readout.weight.shape[1] == 6 * grown.feature_shape[1] * grown.feature_shape[2]
    if base.readout.bias is not None:
        assert torch.equal(grown.readout.bias, base.readout.bias)
    same_cfg, _ = initial_network(str(tmp_path / "run" / "model"), classes, (34, 34), channels=(5, 7))
    assert same_cfg == base.cfg
    for wrong in ((5, 8, 6), (5,), (7, 5, 6)):
        with pytest.raises(SastLiveError, match="come first"):
            initial_network(str(tmp_path / "run" / "model"), classes, (34, 34), channels=wrong)
    out = tmp_path / "grown"
    train(replace(tiny(tmp_path, method="surrogate", epochs=1), init_from=str(tmp_path / "run" / "model"),
                  channels=(5, 7, 6), out=str(out)))
    trained, _ = load_model(out / "model")
    assert [c.out_channels for c in trained.cfg.layers] == [5, 7, 6]


def test_a_tied_readout_stays_tied_through_training_and_is_a_global_sum(tmp_path):
    """--readout-tied: every position of a channel carries the same readout weight after every step, so moving
    the whole input changes nothing the readout sees but what the convolutions see at the edges."""
    import torch

    from models.config import gesture_config
    from models.networks import build_model

    cfg = replace(gesture_config(), readout_tied=True)
    net = build_model(cfg)
    c, h, w = net.feature_shape
    wt = net.readout.weight.detach().view(cfg.n_classes, c, h * w)
    assert torch.allclose(wt, wt[..., :1].expand_as(wt))
    opt = torch.optim.Adam(net.parameters(), lr=1e-2)
    x = (torch.rand(6, 2, 2, 32, 32) < 0.3).float()
    loss = net(x).pow(2).sum()
    loss.backward()
    opt.step()
    net.tie_readout()
    wt = net.readout.weight.detach().view(cfg.n_classes, c, h * w)
    assert torch.allclose(wt, wt[..., :1].expand_as(wt)) and wt.abs().sum() > 0


def test_a_union_of_datasets_keeps_files_labels_and_subjects_and_refuses_a_mismatch(tmp_path, real_dir):
    from sast_live.events import SensorSize
    from training.data.datasets import EventDataset
    from training.data.resolve import resolve_split, union

    digits = resolve_split("nmnist-real", "test", progress=False)
    both = resolve_split("nmnist-real+nmnist-real", "test", progress=False)
    assert both.name == "nmnist-real+nmnist-real" and both.files == digits.files * 2
    assert both.labels == digits.labels * 2 and both.classes == digits.classes
    a = EventDataset("a", (tmp_path / "1",), (0,), ("x", "y"), SensorSize(128, 128), ((20, "natural"),))
    b = EventDataset("b", (tmp_path / "2",), (1,), ("x", "y"), SensorSize(128, 128), ((3, "lamp"),))
    assert union([a, b], "a+b").recordings == ((20, "natural"), (3, "lamp"))
    with pytest.raises(SastLiveError, match="same classes"):
        union([a, EventDataset("c", (), (), ("y", "x"), SensorSize(128, 128))], "a+c")
    with pytest.raises(SastLiveError, match="64x64"):
        union([a, EventDataset("d", (), (), ("x", "y"), SensorSize(64, 64))], "a+d")
    with pytest.raises(SastLiveError, match="--data-dir"):
        resolve_split("nmnist-real+nmnist-real", "test", str(tmp_path), progress=False)


def test_a_dataset_narrowed_to_some_classes_keeps_its_class_list_and_names_an_unknown_class(real_dir):
    from training.data.resolve import resolve_split

    digits = resolve_split("nmnist-real", "test", progress=False)
    threes = resolve_split("nmnist-real:3,7", "test", progress=False)
    assert threes.classes == digits.classes and set(threes.labels) == {3, 7}
    assert len(threes) == sum(y in (3, 7) for y in digits.labels)
    mixed = resolve_split("nmnist-real+nmnist-real:3", "test", progress=False)
    assert len(mixed) == len(digits) + digits.labels.count(3)
    with pytest.raises(SastLiveError, match="no class eleven; its classes are 0, 1"):
        resolve_split("nmnist-real:eleven", "test", progress=False)


def test_the_second_pool_of_people_is_generated_on_first_use_at_seed_1_split_by_split(tmp_path, monkeypatch):
    """gestures-v2-seed1 is gestures-v2's generator at seed 1 (another 29 people): 100 training and 20 test
    recordings per class, each split written on its own; a folder a killed first use left with only its train
    split is completed, not read as finished."""
    from pathlib import Path

    from training.data import resolve, synth

    calls = []

    def fake_synth(kind, out, n_per_class, seed, split, progress, workers):
        calls.append((kind, n_per_class, seed, split))
        meta = Path(out) / "meta.json"
        old = json.loads(meta.read_text())["splits"] if meta.is_file() else {}
        Path(out).mkdir(parents=True, exist_ok=True)
        meta.write_text(json.dumps({"splits": {**old, split: n_per_class}}))

    monkeypatch.setattr(synth, "synth_dataset", fake_synth)
    monkeypatch.setattr(resolve, "open_dataset", lambda folder, split: (folder, split))
    folder = tmp_path / "synth-gestures-v2-seed1"
    monkeypatch.setitem(resolve.SYNTH_DEFAULT, "gestures-v2-seed1", folder)
    assert resolve.names_a_dataset("gestures-v2+gestures-v2-seed1")
    assert resolve.resolve_split("gestures-v2-seed1", "train", progress=False) == (folder, "train")
    assert calls == [("gestures-v2", 100, 1, "train"), ("gestures-v2", 20, 1, "test")]
    resolve.resolve_split("gestures-v2-seed1", "test", progress=False)
    assert len(calls) == 2  # finished: not generated again
    (folder / "meta.json").write_text(json.dumps({"splits": {"train": 1200}}))  # killed between the splits
    resolve.resolve_split("gestures-v2-seed1", "test", progress=False)
    assert len(calls) == 4
    (folder / "meta.json").write_text("{not json")  # damaged: left to open_dataset, which names it
    resolve.resolve_split("gestures-v2-seed1", "test", progress=False)
    assert len(calls) == 4
    assert resolve.SYNTH_RECIPE["gestures-v2-seed2"] == ("gestures-v2", 2)  # the third pool, the same way
    assert resolve.SYNTH_RECIPE["gestures-v2-seed4"] == ("gestures-v2", 4) and resolve.names_a_dataset(
        "gestures-v2+gestures-v2-seed3+gestures-v2-seed4")


def test_outlier_exposure_teaches_other_scenes_to_be_unsure_and_leaves_the_validation_people_out(tmp_path, real_dir,
                                                                                                 monkeypatch):
    """--outliers D: D's windows run in the same forward passes with the uniform distribution as their target
    (CE + w·CE-to-uniform, per pass); the recordings of the subjects held out for validation are left out of D;
    a run with outliers differs from one without; bad weights, a sensor mismatch, an empty D are refused."""
    import math

    from models.networks import build_model
    from sast_live.events import SensorSize
    from training.data.datasets import EventDataset
    from training.networks import model_config_for
    from training.train import loss_and_acc, prepare_outliers, uniform_ce

    assert math.isclose(float(uniform_ce(torch.zeros(3, 12))), math.log(12), rel_tol=1e-6)
    assert float(uniform_ce(torch.tensor([[9.0, 0, 0]]))) > math.log(3)  # a confident claim costs more
    torch.manual_seed(0)
    net = build_model(model_config_for(TrainConfig(n_bins=4), [str(i) for i in range(10)], (34, 34)))
    x = (torch.rand(4, 3, 2, 34, 34) < 0.05).float()
    xo = (torch.rand(4, 2, 2, 34, 34) < 0.05).float()
    y = torch.tensor([1, 2, 3])
    for w in (0.0, 0.5):  # each sample's output does not depend on the others in its batch
        plain, acc = loss_and_acc(net, x, y, "surrogate", w)
        with_out, acc2 = loss_and_acc(net, x, y, "surrogate", w, xo, 0.7)
        expect = (1 - w) * uniform_ce(net(xo, "surrogate")) + w * uniform_ce(net(xo, "sg"))
        assert torch.isclose(with_out, plain + 0.7 * expect, atol=1e-6) and acc == acc2
        # a process whose share of the outlier windows is empty adds nothing (and no NaN)
        assert torch.equal(loss_and_acc(net, x, y, "surrogate", w, xo[:, :0], 0.7)[0], plain)

    size = SensorSize(34, 34)
    run = EventDataset("r", (), (), ("a", "b"), size, ())
    val = EventDataset("v", (tmp_path / "v",), (0,), ("a", "b"), size, ((21, "led"),))
    files = tuple(tmp_path / f"o{i}" for i in range(4))
    other = EventDataset("o", files, (1, 1, 1, 1), ("a", "b"), size, ((3, "led"), (21, "led"), (5, "led"), (21, "x")))
    import training.data.resolve as resolve

    picks = {"o": other, "wide": replace(other, sensor_size=SensorSize(64, 64)), "held": other.subset([1, 3])}
    monkeypatch.setattr(resolve, "resolve_split", lambda name, split, data_dir=None, progress=True: picks[name])
    monkeypatch.setattr(resolve, "names_a_dataset", lambda name: name in picks)
    kept = prepare_outliers(TrainConfig(outliers="o"), run, val, False)
    assert kept.files == (files[0], files[2])  # subject 21 is a validation subject
    assert prepare_outliers(TrainConfig(outliers="o"), run, None, False).files == files
    assert prepare_outliers(TrainConfig(), run, val, False) is None
    with pytest.raises(SastLiveError, match="64x64, the training data 34x34"):
        prepare_outliers(TrainConfig(outliers="wide"), run, val, False)
    with pytest.raises(SastLiveError, match="no training recordings left"):
        prepare_outliers(TrainConfig(outliers="held"), run, val, False)
    monkeypatch.undo()
    with pytest.raises(SastLiveError, match="--outliers must be .*got 'nosuch'"):
        prepare_outliers(TrainConfig(outliers="nosuch"), run, val, False)
    with pytest.raises(SastLiveError, match="--outlier-weight must be > 0"):
        TrainConfig(outlier_weight=0.0)

    train(tiny(tmp_path, out=str(tmp_path / "plain"), method="surrogate", epochs=1))
    final = train(tiny(tmp_path, out=str(tmp_path / "oe"), method="surrogate", epochs=1, outliers="nmnist-real:7"))
    assert final["gradient_passes"] == 3  # the outliers ride along in the same batches
    _, a = weights(tmp_path / "plain" / "model")
    _, b = weights(tmp_path / "oe" / "model")
    assert not torch.equal(a.readout.weight, b.readout.weight)
