"""``train --in-size``: a gesture network reading 64×64 instead of 32×32 (each input pixel 2×2 sensor pixels), which
starts from a checkpoint as exactly that checkpoint — in float and in the integer simulator, to the bit."""

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch

from firmware_sim.quantize import QuantConfig, quantize_checkpoint
from firmware_sim.simulator import Simulator
from models.checkpoint.weights import load_model, save_checkpoint
from models.config import input_factor
from sast_live.errors import SastLiveError
from sast_live.formats.registry import read_events
from sast_live.pipeline.backends import DEFAULT_MODEL
from tests.test_firmware_export import _compile_and_run
from training.config import TrainConfig
from training.data.frames import full_frames
from training.networks import finer_config, finer_network, model_config_for

DEMO = Path(__file__).resolve().parents[1] / "sast_live" / "assets" / "demo_gestures.raw"


def demo_windows(cfg, n: int = 6) -> np.ndarray:
    """``n`` consecutive windows of the demo recording (two people gesturing) binned for ``cfg``: (n, T, 2, H, W)."""
    frames = full_frames(read_events(DEMO), cfg)
    T = cfg.n_bins
    return np.stack([frames[k * T:(k + 1) * T] for k in range(n)])


def test_a_finer_input_starts_as_the_checkpoint_in_float_and_in_the_integer_simulator(tmp_path):
    """The shipped model and its 64×64 twin on the same events: the same logits in float (both spike forms) and the
    same scores, spikes and last-layer counts in the INT8 simulator; the twin's first layer is a 6×6 stride-4 one."""
    model, meta = load_model(DEFAULT_MODEL / "model")
    finer = finer_network(model, 64)
    first = finer.cfg.layers[0]
    assert finer.cfg.in_size == (64, 64) and (first.kernel, first.stride, first.padding) == (6, 4, 2)
    assert finer.cfg.layers[1:] == model.cfg.layers[1:] and finer.feature_shape == model.feature_shape
    assert input_factor(finer.cfg) == 2 and input_factor(model.cfg) == 1
    coarse_x, fine_x = demo_windows(model.cfg), demo_windows(finer.cfg)
    # the 32×32 input is the 64×64 one summed over 2×2 blocks (no pixel of the demo reaches uint8's 255 in a bin)
    pooled = fine_x.reshape(*fine_x.shape[:3], 32, 2, 32, 2).astype(np.int64).sum((4, 6))
    assert np.array_equal(pooled, coarse_x) and fine_x.sum() > 10_000
    with torch.no_grad():
        for mode in ("surrogate", "hard"):
            a = model.double()(torch.from_numpy(coarse_x).double().transpose(0, 1), mode)
            b = finer.double()(torch.from_numpy(fine_x).double().transpose(0, 1), mode)
            assert torch.allclose(a, b, rtol=0, atol=1e-9), mode
    save_checkpoint(tmp_path / "finer", finer.float(), dict(meta, model_cfg=finer.cfg.to_dict()))
    runs = [Simulator(quantize_checkpoint(path, QuantConfig(8))).classify(x, last_counts=True)
            for path, x in ((DEFAULT_MODEL / "model", coarse_x), (tmp_path / "finer", fine_x))]
    for key in ("scores", "spikes", "last_counts"):
        assert np.array_equal(runs[0][key], runs[1][key]), key
    assert runs[0]["spikes"].sum() > 0 and len(set(runs[0]["predictions"].tolist())) > 1
    # and the C export of the twin (its 6×6 stride-4 layer) computes what the simulator computes, step by step
    fw = quantize_checkpoint(tmp_path / "finer", QuantConfig(8))
    frames = np.ascontiguousarray(fine_x[1])
    spikes, synops, _, scores, _ = _compile_and_run(fw, frames, tmp_path / "c")
    _, whole = Simulator(fw).run(frames, Simulator(fw).initial_state())
    assert np.array_equal(spikes, whole.spikes) and np.array_equal(synops, whole.synops)
    assert np.array_equal(scores, whole.scores) and whole.spikes.sum() > 0


def test_in_size_is_refused_where_it_cannot_be_finer_and_shapes_a_new_network_the_same_way():
    """A size that is not a multiple of the input dividing the sensor is one clear line; a new network gets the same
    first layer a checkpoint's twin gets; training's shift ranges stay the same distance on the sensor."""
    from training.train import augment_config

    classes = [str(i) for i in range(11)]
    new = model_config_for(TrainConfig(in_size=64), classes, (128, 128))
    assert new.in_size == (64, 64) and new.layers[0].kernel == 6 and new.layers[0].stride == 4
    assert model_config_for(TrainConfig(in_size=32), classes, (128, 128)).in_size == (32, 32)
    for bad in (48, 16, 256):
        with pytest.raises(SastLiveError, match="can be 32, 64, 128 pixels a side"):
            model_config_for(TrainConfig(in_size=bad), classes, (128, 128))
    with pytest.raises(SastLiveError, match="can be 34 pixels a side"):
        model_config_for(TrainConfig(in_size=68), classes, (34, 34))
    with pytest.raises(SastLiveError, match="--in-size must be a positive"):
        TrainConfig(in_size=0)
    run = replace(TrainConfig(), augment=True, augment_geometry=True, geometry_wide=True)
    base = model_config_for(TrainConfig(), classes, (128, 128))
    coarse, fine = augment_config(run, base), augment_config(run, finer_config(base, 64))
    assert (fine.geo_shift, fine.max_shift) == (2 * coarse.geo_shift, 2 * coarse.max_shift)
    assert replace(fine, geo_shift=coarse.geo_shift, max_shift=coarse.max_shift) == coarse
