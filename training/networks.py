"""The network a training run starts from: a new one sized for the dataset's sensor, or a checkpoint's (its readout
grown for new classes); and the device it runs on."""

from __future__ import annotations

from dataclasses import replace

import torch

from models.config import SNNConfig, standard_config
from models.networks import build_model
from sast_live.errors import SastLiveError
from training.config import TrainConfig


def model_config_for(cfg: TrainConfig, classes, sensor_size) -> SNNConfig:
    """The network for a dataset: by sensor geometry (34×34 → N-MNIST net, 128×128 → gesture net)."""
    base = standard_config(sensor_size)
    if base is None:
        raise SastLiveError(f"no network defined for a {sensor_size[0]}x{sensor_size[1]} sensor "
                            "(models exist for 34x34 and 128x128)")
    changes = {"classes": tuple(classes), "n_classes": len(classes)}
    if cfg.beta is not None:
        changes["beta"] = cfg.beta
    if cfg.n_bins is not None:
        changes["n_bins"] = cfg.n_bins
    if cfg.readout_tied:
        changes["readout_tied"] = True
    if cfg.channels is not None:
        changes["layers"] = layers_for(base, cfg.channels)
    mcfg = replace(base, **changes)
    return finer_config(mcfg, cfg.in_size) if cfg.in_size is not None else mcfg


def finer_config(mcfg: SNNConfig, in_size: int) -> SNNConfig:
    """``mcfg`` reading an ``in_size``×``in_size`` input: ``f`` = in_size / its own input side times finer, its first
    layer's kernel, stride and padding times ``f`` (so that layer's output, every later layer and the readout keep
    their shapes: a 3×3 stride-2 layer on 32×32 becomes a 6×6 stride-4 one on 64×64, each weight seeing a 2×2 block
    of sensor pixels instead of 4×4). ``in_size`` must be a multiple of the current side that divides the sensor."""
    own, side = int(mcfg.in_size[1]), int(mcfg.sensor_size[0])
    in_size = int(in_size)
    if in_size == own:
        return mcfg
    if in_size < own or in_size % own or side % in_size or mcfg.in_size[0] != mcfg.in_size[1]:
        sizes = [own * k for k in range(1, side // own + 1) if side % (own * k) == 0]
        raise SastLiveError(f"--in-size {in_size}: the {mcfg.name} network's input can be "
                            f"{', '.join(map(str, sizes))} pixels a side (a multiple of its {own} that divides the "
                            f"{side}-pixel sensor)")
    f = in_size // own
    first = mcfg.layers[0]
    layers = (replace(first, kernel=first.kernel * f, stride=first.stride * f, padding=first.padding * f),
              *mcfg.layers[1:])
    return replace(mcfg, in_size=(in_size, in_size), layers=layers)


def finer_network(model, in_size: int) -> torch.nn.Module:
    """``model`` on a finer input (:func:`finer_config`), computing exactly what it computed: each first-layer weight
    copied onto the f×f input pixels its old pixel was pooled from (sum pooling is linear, so the first layer's
    input current is the same), every other weight kept. Training can then give the finer pixels weights of their
    own. Counts are saturating uint8, so a window whose pooled pixel passed 255 events in a bin is the only one
    that can differ."""
    cfg = finer_config(model.cfg, in_size)
    if cfg is model.cfg:
        return model
    f = cfg.layers[0].kernel // model.cfg.layers[0].kernel
    finer = build_model(cfg)
    state = model.state_dict()
    state["convs.0.weight"] = state["convs.0.weight"].repeat_interleave(f, 2).repeat_interleave(f, 3)
    finer.load_state_dict(state)
    return finer


def layers_for(base: SNNConfig, channels) -> tuple:
    """``base``'s hidden layers with ``channels`` output channels each; more counts than ``base`` has layers add
    layers shaped like its last (3×3, stride 2: each halves the view again, so the readout sees fewer, wider
    positions). Fewer counts, or a layer left with no positions, is an error."""
    if len(channels) < len(base.layers):
        raise SastLiveError(f"--channels needs at least one count per convolutional layer of the {base.name} network "
                            f"({len(base.layers)}: {' '.join(str(c.out_channels) for c in base.layers)}), got "
                            f"{len(channels)}")
    specs = list(base.layers) + [base.layers[-1]] * (len(channels) - len(base.layers))
    layers = tuple(replace(c, out_channels=int(n)) for c, n in zip(specs, channels, strict=True))
    h, w = base.in_size
    for k, spec in enumerate(layers):
        h, w = spec.out_size(h), spec.out_size(w)
        if h < 1 or w < 1:
            raise SastLiveError(f"--channels asks for {len(layers)} layers; the {base.name} network's "
                                f"{base.in_size[0]}x{base.in_size[1]} input has no positions left after layer {k + 1}")
    return layers


def grown_network(model, channels) -> torch.nn.Module:
    """``model`` with layers appended so its hidden layers have ``channels`` (its own counts first): its layers
    keep their weights, each new layer and the readout's weights start fresh (PyTorch's default initialisation),
    the readout keeps its biases (the class priors, the no-gesture class's among them)."""
    own = tuple(c.out_channels for c in model.cfg.layers)
    channels = tuple(int(n) for n in channels)
    if channels == own:
        return model
    if len(channels) <= len(own) or channels[:len(own)] != own:
        raise SastLiveError(f"--channels {' '.join(map(str, channels))} with --init-from: the checkpoint's layers "
                            f"({' '.join(map(str, own))}) come first and layers may only be added after them")
    cfg = replace(model.cfg, layers=layers_for(model.cfg, channels), readout_tied=False)
    grown = build_model(cfg)
    target = grown.state_dict()
    for key, value in model.state_dict().items():
        if key.startswith("convs.") or key == "readout.bias":
            target[key] = value
    grown.load_state_dict(target)
    return grown


def initial_network(path: str, classes, sensor_size=None, channels=None,
                    in_size=None) -> tuple[SNNConfig, torch.nn.Module]:
    """The network and weights of checkpoint ``path`` to start training from (its config is kept; ``channels``
    longer than its own list adds layers: :func:`grown_network`; ``in_size`` a finer input: :func:`finer_network`).
    A dataset whose classes are the model's, in order, followed by new ones grows the readout: the old classes keep
    their rows and biases, each new class gets a fresh row (PyTorch's default initialisation) and the old classes'
    mean bias."""
    from models.checkpoint.weights import load_model

    model, _ = load_model(path)
    if channels is not None:
        if not isinstance(model.cfg, SNNConfig):
            raise SastLiveError(f"{path} is a sequence-task network; --channels grows event networks")
        model = grown_network(model, channels)
    if not isinstance(model.cfg, SNNConfig):
        raise SastLiveError(f"{path} is a sequence-task network; event training starts from an event network")
    if in_size is not None:
        model = finer_network(model, in_size)
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
