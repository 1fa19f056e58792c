"""The network a training run starts from: a new one sized for the dataset's sensor, or a checkpoint's (its readout
grown for new classes); and the device it runs on."""

from __future__ import annotations

from dataclasses import replace

import torch

from models.config import SNNConfig, gesture_config, nmnist_config
from models.networks import build_model
from sast_live.errors import SastLiveError
from training.config import TrainConfig


def model_config_for(cfg: TrainConfig, classes, sensor_size) -> SNNConfig:
    """The network for a dataset: by sensor geometry (34×34 → N-MNIST net, 128×128 → gesture net)."""
    by_sensor = {(34, 34): nmnist_config, (128, 128): gesture_config}
    if tuple(sensor_size) not in by_sensor:
        raise SastLiveError(f"no network defined for a {sensor_size[0]}x{sensor_size[1]} sensor "
                            "(models exist for 34x34 and 128x128)")
    base = by_sensor[tuple(sensor_size)]()
    changes = {"classes": tuple(classes), "n_classes": len(classes)}
    if cfg.beta is not None:
        changes["beta"] = cfg.beta
    if cfg.n_bins is not None:
        changes["n_bins"] = cfg.n_bins
    if cfg.readout_tied:
        changes["readout_tied"] = True
    if cfg.channels is not None:
        if len(cfg.channels) != len(base.layers):
            raise SastLiveError(f"--channels needs one count per convolutional layer of the {base.name} network "
                                f"({len(base.layers)}: {' '.join(str(c.out_channels) for c in base.layers)}), got "
                                f"{len(cfg.channels)}")
        changes["layers"] = tuple(replace(c, out_channels=int(n)) for c, n in zip(base.layers, cfg.channels,
                                                                                    strict=True))
    return replace(base, **changes)


def initial_network(path: str, classes, sensor_size=None) -> tuple[SNNConfig, torch.nn.Module]:
    """The network and weights of checkpoint ``path`` to start training from (its config is kept). A dataset
    whose classes are the model's, in order, followed by new ones grows the readout: the old classes keep their
    rows and biases, each new class gets a fresh row (PyTorch's default initialisation) and the old classes'
    mean bias."""
    from models.checkpoint.weights import load_model

    model, _ = load_model(path)
    if not isinstance(model.cfg, SNNConfig):
        raise SastLiveError(f"{path} is a sequence-task network; event training starts from an event network")
    if sensor_size is not None and tuple(model.cfg.sensor_size) != tuple(sensor_size):
        raise SastLiveError(f"{path} was made for a {model.cfg.sensor_size[0]}x{model.cfg.sensor_size[1]} sensor; "
                            f"the dataset's recordings are {sensor_size[0]}x{sensor_size[1]}")
    old, new = tuple(model.cfg.classes), tuple(classes)
    if new == old:
        return model.cfg, model
    if new[:len(old)] != old:
        raise SastLiveError(f"{path} has classes {list(old)}; the dataset's classes must be these, in this order, "
                            f"followed by any new ones — it has {list(new)}")
    cfg = replace(model.cfg, classes=new, n_classes=len(new))
    grown = build_model(cfg)
    state = model.state_dict()
    target = grown.state_dict()
    for key, value in state.items():
        if key.startswith("readout."):
            target[key][:len(old)] = value
            if key == "readout.bias":
                target[key][len(old):] = value.mean()
        else:
            target[key] = value
    grown.load_state_dict(target)
    return cfg, grown


def resolve_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)
