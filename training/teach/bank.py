"""A model's feature bank: what its old classes look like to the sensor, stored beside it so that teaching needs no
recordings (``MODEL.bank.npz`` beside ``MODEL.json``: :func:`sast_live.model_info.bank_path`, which ``info`` reads
too).

Each stored recording is its last layer's spike counts per hop (:func:`firmware_sim.features.hop_counts`: the INT8
hidden layers running on, hop = the app's 250 ms), uint8, so any streaming window and taper can be formed from it
later, and any readout scored exactly (:func:`firmware_sim.features.window_scores`). Recordings are in three parts:

* ``fit`` — training subjects (never the validation or test ones): the old classes the readout fit keeps, each
  recording also :data:`MOVED` times moved, resized, turned or re-timed (:func:`moved_warp`, as training's geometry
  augmentation draws its windows), so a refit keeps the robustness off the nominal geometry training gave;
* ``validation`` — the validation subjects the model's training held out: familiar windows for the unfamiliar-scene
  limit after a fit;
* ``test`` — the test split: only to *report* the old classes before and after teaching, never to choose.

A bank belongs to the hidden layers it was computed with (:func:`features_digest`: their weights and the input
settings); teaching refuses a bank of other layers. A taught model's bank is its base's plus the new classes' takes
(training takes as ``fit``, held-out takes as ``test``), so teaching again from it keeps what was taught before.

A bank also keeps the **anchor**: the readout rows of the model it was built for (the factory classes), which every
later fit is pulled towards (:mod:`training.teach.fit`). Teaching A, then B, then C thus solves the same problem as
teaching all three at once — the pull never drifts with each step — and what the old classes may lose is measured
against the model the user started from.
"""

from __future__ import annotations

import hashlib
import json
import zipfile
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from sast_live.errors import SastLiveError

#: the parts; ``negatives``: more no-gesture recordings of training people, read only by the no-gesture gate's fit
#: (``teach-bank --gate-negatives``), never by a readout fit
PARTS = ("fit", "validation", "test", "negatives")
#: recordings per class stored from each part when a bank is built (fit, validation, test). The fit part is what
#: keeps the old classes: with 24 per class three taught motions took them 1.1–1.7 points down on the test subjects
#: (the fit saw their centres, not their borders); with 96 they held on the validation subjects (subject 4's takes:
#: 95.7 → 96.3 %)
PER_CLASS = {"fit": 96, "validation": 24, "test": 20}
#: how many more times each fit recording is stored, moved (:func:`moved_warp`). Without them (0) a fit saw the old
#: classes only at the nominal geometry and three taught motions took the validation subjects' robustness-grid mean
#: from 0.943 to 0.874 (scale 0.6: 0.81 → 0.45, first 1-s windows): the refit gave up the robustness that training's
#: moved windows had bought. With one moved copy: 0.940 (runs of 2026-12-06, training subject 4's takes)
MOVED = 1


def features_digest(model) -> str:
    """What the features depend on: the hidden layers' weights and the input settings (not the readout, not the
    classes), as a short hex digest."""
    cfg = model.cfg
    h = hashlib.sha256()
    h.update(json.dumps({k: getattr(cfg, k) for k in ("in_size", "sensor_size", "tau", "theta", "bin_us",
                                                      "refractory_us")}, default=list).encode())
    h.update(json.dumps([[s.out_channels, s.kernel, s.stride, s.padding] for s in cfg.layers]).encode())
    for conv in model.convs:
        h.update(conv.weight.detach().cpu().contiguous().float().numpy().tobytes())
    return h.hexdigest()[:16]


@dataclass(frozen=True)
class Bank:
    """Hop counts of recordings: ``counts`` (hops, F) uint8, ``bins`` (hops,) per hop, recording ``k`` holding
    hops ``starts[k]:starts[k + 1]``, its class ``labels[k]`` and part ``parts[k]`` (index into :data:`PARTS`)."""

    counts: np.ndarray
    bins: np.ndarray
    starts: np.ndarray
    labels: np.ndarray
    parts: np.ndarray
    classes: tuple[str, ...]
    digest: str
    hop_bins: int
    source: str  # what the recordings were (for reports)
    #: the factory readout every fit is pulled towards: ``(weight (K, F) float64, bias (K,), its K classes)``;
    #: None for a bank saved before anchors were kept (the model's own readout stands in)
    anchor: tuple[np.ndarray, np.ndarray, tuple[str, ...]] | None = None
    #: where each recording came from: −1 the bank's own dataset, k ≥ 0 the takes folder ``folders[k]``
    #: (None: a bank saved before this was kept — all its own, or unknown)
    origin: np.ndarray | None = None
    folders: tuple[str, ...] = ()
    #: how many moved copies (:func:`moved_warp`) of each fit recording it holds besides the recording itself; a
    #: taught class's training takes are stored the same way
    moved: int = 0
    #: whether those moved copies also carry background noise and hot pixels drawn as training's augmentation draws
    #: them (:func:`training.augment.with_nuisance`; False: a bank built before they did)
    nuisance: bool = False

    def __len__(self) -> int:
        return len(self.labels)

    @property
    def dataset(self) -> str:
        """The dataset its own recordings were picked from (:func:`build_bank` names it first in :attr:`source`)."""
        return self.source.split(": ", 1)[0]

    def recordings(self, part: str):
        """``(counts, bins, label)`` of every recording of ``part``."""
        k = PARTS.index(part)
        for i in np.flatnonzero(self.parts == k):
            a, b = int(self.starts[i]), int(self.starts[i + 1])
            yield self.counts[a:b], self.bins[a:b], int(self.labels[i])

    def per_class(self, part: str) -> dict[str, int]:
        k = PARTS.index(part)
        n = np.bincount(self.labels[self.parts == k], minlength=len(self.classes))
        return {c: int(v) for c, v in zip(self.classes, n, strict=True) if v}

    def origins(self) -> np.ndarray:
        """:attr:`origin`, all −1 for a bank that did not keep it."""
        return np.full(len(self), -1, np.int16) if self.origin is None else self.origin

    def with_recordings(self, items, classes, folder: str | None = None) -> Bank:
        """A new bank with ``items`` ``(counts, bins, label, part)`` appended and ``classes`` (this bank's,
        followed by any new ones); ``folder``: the takes folder they came from (None: the bank's own dataset)."""
        classes = tuple(classes)
        if classes[:len(self.classes)] != self.classes:
            raise SastLiveError(f"a bank's classes only grow at the end: {list(self.classes)} → {list(classes)}")
        folders = self.folders + ((folder,) if folder is not None and folder not in self.folders else ())
        k = -1 if folder is None else folders.index(folder)
        counts, bins, starts = [self.counts], [self.bins], list(self.starts)
        labels, parts = list(self.labels), list(self.parts)
        for c, b, label, part in items:
            counts.append(np.asarray(c, np.uint8))
            bins.append(np.asarray(b, np.uint16))
            starts.append(starts[-1] + len(c))
            labels.append(int(label))
            parts.append(PARTS.index(part))
        origin = np.concatenate([self.origins(), np.full(len(labels) - len(self), k, np.int16)])
        return replace(self, counts=np.concatenate(counts), bins=np.concatenate(bins),
                       starts=np.asarray(starts, np.int64), labels=np.asarray(labels, np.int16),
                       parts=np.asarray(parts, np.uint8), classes=classes, origin=origin, folders=folders)

    def from_folder(self, folder: str) -> np.ndarray:
        """Which recordings (len(self),) came from takes folder ``folder``."""
        return self.origins() == (self.folders.index(folder) if folder in self.folders else -2)

    def keeping(self, mask: np.ndarray) -> Bank:
        """The bank with only the recordings where ``mask`` (len(self),) is true (classes unchanged)."""
        keep = np.flatnonzero(mask)
        counts, bins, starts = [self.counts[:0]], [self.bins[:0]], [0]
        for i in keep:
            a, b = int(self.starts[i]), int(self.starts[i + 1])
            counts.append(self.counts[a:b])
            bins.append(self.bins[a:b])
            starts.append(starts[-1] + b - a)
        return replace(self, counts=np.concatenate(counts), bins=np.concatenate(bins),
                       starts=np.asarray(starts, np.int64), labels=self.labels[keep], parts=self.parts[keep],
                       origin=None if self.origin is None else self.origin[keep])

    def without_class(self, name: str) -> Bank:
        """The bank without class ``name`` (its recordings dropped, the classes after it one index lower)."""
        if name not in self.classes:
            raise SastLiveError(f"the bank has no class {name!r}; it has {', '.join(self.classes)}")
        k = self.classes.index(name)
        kept = self.keeping(self.labels != k)
        labels = kept.labels.astype(np.int64)
        labels[labels > k] -= 1
        anchor = self.anchor
        if anchor is not None and name in anchor[2]:
            j = anchor[2].index(name)
            anchor = (np.delete(anchor[0], j, 0), np.delete(anchor[1], j), anchor[2][:j] + anchor[2][j + 1:])
        return replace(kept, labels=labels.astype(np.int16), classes=self.classes[:k] + self.classes[k + 1:],
                       anchor=anchor)

    def with_anchor(self, weight: np.ndarray, bias: np.ndarray, classes) -> Bank:
        """The bank with ``(weight (K, F), bias (K,))`` of ``classes`` (its first K) as its anchor."""
        weight, bias, classes = np.asarray(weight, np.float64), np.asarray(bias, np.float64), tuple(classes)
        if weight.shape != (len(classes), self.counts.shape[1]) or bias.shape != (len(classes),) or \
                classes != self.classes[:len(classes)]:
            raise SastLiveError(f"an anchor readout {weight.shape} of classes {list(classes)} does not fit a bank of "
                                f"{self.counts.shape[1]} features and classes {list(self.classes)}")
        return replace(self, anchor=(weight, bias, classes))

    def start_readout(self) -> tuple[np.ndarray, np.ndarray]:
        """The readout a fit of this bank's classes is pulled towards, ``(W0 (classes, F), b0 (classes,))``: the
        anchor's rows, and for each class after them a zero row and the anchor's mean bias."""
        if self.anchor is None:
            raise SastLiveError("this feature bank has no anchor readout (give it one with with_anchor)")
        W, b, anchor_classes = self.anchor
        n_new = len(self.classes) - len(anchor_classes)
        return (np.concatenate([W, np.zeros((n_new, W.shape[1]))]),
                np.concatenate([b, np.full(n_new, b.mean())]))

    def save(self, path) -> Path:
        """Write atomically (a temporary file, then a rename)."""
        path = Path(path)
        tmp = path.with_name(path.name + ".tmp.npz")
        header = {"classes": list(self.classes), "digest": self.digest, "hop_bins": self.hop_bins,
                  "source": self.source, "parts": list(PARTS), "moved": self.moved,
                  "nuisance": self.nuisance}
        anchor = {}
        if self.anchor is not None:
            header["anchor_classes"] = list(self.anchor[2])
            anchor = {"anchor_weight": self.anchor[0], "anchor_bias": self.anchor[1]}
        if self.origin is not None:
            header["folders"] = list(self.folders)
            anchor["origin"] = self.origin
        np.savez_compressed(tmp, counts=self.counts, bins=self.bins, starts=self.starts, labels=self.labels,
                            parts=self.parts, header=np.frombuffer(json.dumps(header).encode(), np.uint8), **anchor)
        tmp.replace(path)
        return path

    @staticmethod
    def load(path) -> Bank:
        """A checked bank; a missing or damaged file is one clear error."""
        path = Path(path)
        if not path.is_file():
            raise SastLiveError(f"{path}: no feature bank (a model's old classes for teaching); build one with "
                                f"`main.py teach-bank MODEL`")
        try:
            with open(path, "rb") as fh, np.load(fh, allow_pickle=False) as z:  # fh: closed on a damaged file too
                header = json.loads(bytes(z["header"]).decode())
                bank = Bank(z["counts"], z["bins"], z["starts"], z["labels"], z["parts"],
                            tuple(header["classes"]), str(header["digest"]), int(header["hop_bins"]),
                            str(header.get("source", "")), moved=int(header.get("moved", 0)),
                            nuisance=bool(header.get("nuisance", False)))
                if "anchor_classes" in header:
                    bank = bank.with_anchor(z["anchor_weight"], z["anchor_bias"], header["anchor_classes"])
                if "folders" in header:
                    bank = replace(bank, origin=z["origin"].astype(np.int16), folders=tuple(header["folders"]))
        except SastLiveError as e:
            raise SastLiveError(f"{path}: {e}") from None
        except (OSError, ValueError, KeyError, TypeError, EOFError, zipfile.BadZipFile) as e:
            raise SastLiveError(f"{path}: not a readable feature bank ({e})") from None
        n = len(bank.labels)
        if bank.counts.ndim != 2 or len(bank.starts) != n + 1 or len(bank.parts) != n or \
                len(bank.bins) != len(bank.counts) or (n and int(bank.starts[-1]) != len(bank.counts)) or \
                (bank.origin is not None and (len(bank.origin) != n or int(bank.origin.max(initial=-1))
                                              >= len(bank.folders))):
            raise SastLiveError(f"{path}: its arrays do not agree (a damaged feature bank)")
        return bank


def take_hops(sim, events: np.ndarray, cfg, hop_bins: int) -> tuple[np.ndarray, np.ndarray]:
    """A recording's hop counts ``(counts (hops, F) uint8, bins (hops,))``: its events through the network's input
    filter, binned from its first event on and run from fresh state, as the app replays a file
    (:mod:`sast_live.pipeline.pipeline`: the same full windows, bit for bit); only whole hops (a hop cut short by
    the end of the recording gives the app no full window either)."""
    from firmware_sim.features import hop_counts
    from sast_live.transforms.binning import bin_window
    from training.data.frames import input_filter

    n = 0
    if len(events):
        events = input_filter(events, cfg).copy()
        events["t"] -= events["t"][0]
        n = (int(events["t"][-1]) // cfg.bin_us + 1) // hop_bins * hop_bins
    if n == 0:
        return np.zeros((0, sim.model.layers[-1].n_neurons), np.uint8), np.zeros(0, np.uint16)
    counts, bins, _ = hop_counts(sim, bin_window(events, cfg.bin_config(), 0, n), hop_bins)
    return np.minimum(counts, 255).astype(np.uint8), bins.astype(np.uint16)


def moved_warp(rng: np.random.Generator, stride: int):
    """One geometry as ``train --augment-geometry --geometry-each`` draws them (:data:`training.augment.GEOMETRY_EACH`:
    the resize, the turn, the move and the tempo each on half of the draws), never the identity; ``stride``: sensor
    pixels per pixel of the sensor's standard network input along x (the training draw's move is in those pixels:
    :func:`models.config.input_factor`; not :attr:`models.config.SNNConfig.pooling`, which is an area)."""
    from sast_live.transforms.geometry import Warp
    from training.augment import GEOMETRY_EACH as G

    while True:  # a draw that changes nothing (no change on, or a move of 0 px) is drawn again
        on = rng.random(4) < G["geo_p"]
        scale = float(np.exp(rng.uniform(*np.log(G["scale"])))) if on[0] else 1.0
        rotation = float(rng.uniform(-G["rotation"], G["rotation"])) if on[1] else 0.0
        move = rng.integers(-G["geo_shift"], G["geo_shift"] + 1, 2) if on[2] else np.zeros(2, int)
        speed = float(np.exp(rng.uniform(*np.log(G["speed"])))) if on[3] else 1.0
        w = Warp(scale=scale, shift=(int(move[0]) * stride, int(move[1]) * stride), rotation=rotation, speed=speed)
        if not w.identity:
            return w


def moved_copies(events: np.ndarray, cfg, n: int, rng: np.random.Generator, nuisance: bool = True) -> list[np.ndarray]:
    """``n`` copies of a recording ``events``, each seen through its own :func:`moved_warp`, for a network of
    config ``cfg`` (its sensor and input sizes) — and with ``nuisance``, each with its own background noise and hot
    pixels (:func:`training.augment.with_nuisance`).

    Why the nuisance: training put noise and hot pixels into every window it saw (:func:`training.augment.augment`),
    and that is how the base readout learned to look past them. A refit that sees only clean recordings has no
    reason to: taught three motions without it, geometry5 named a right hand wave in 14 of the 15 windows of the
    hot-pixel scene (the base: none) and its demo's pause fell from 100 % to 50 % "no gesture"
    (benchmarks/teach_real_scenes.py, 2026-12-06)."""
    from models.config import input_factor
    from sast_live.transforms.geometry import warp
    from training.augment import with_nuisance

    # training's moves are in pixels of the sensor's standard input, whatever this network's input is
    stride = max(1, int(cfg.sensor_size[0]) // int(cfg.in_size[1])) * input_factor(cfg)
    out = []
    for _ in range(n):
        seen = warp(events, cfg.sensor_size, moved_warp(rng, stride), int(rng.integers(2**31)))
        out.append(with_nuisance(seen, cfg.sensor_size, rng) if nuisance else seen)
    return out


def bank_picks(checkpoint, cfg, dataset: str | None = None, data_dir: str | None = None,
               per_class: dict | None = None, progress: bool = True) -> tuple[str, list]:
    """Which recordings a bank of ``checkpoint`` (config ``cfg``) holds: ``(dataset, [(part, EventDataset, index)])``,
    :data:`PER_CLASS` (or ``per_class``) of each part picked evenly (:func:`training.data.mixing.pick_per_class`) from
    its own dataset (or ``dataset``): ``fit`` from the training subjects, ``validation`` from the subjects its
    training held out, ``test`` from the test split."""
    from models.checkpoint.files import read_checkpoint_meta
    from training.data.mixing import pick_per_class
    from training.data.resolve import resolve_split
    from training.data.validation import split_validation

    train_cfg = read_checkpoint_meta(str(checkpoint))[0].get("train_cfg") or {}
    dataset = dataset or train_cfg.get("dataset")
    if not dataset:
        raise SastLiveError(f"{checkpoint} does not say which dataset it was trained on; give --dataset")
    data_dir = data_dir or (train_cfg.get("data_dir") if dataset == train_cfg.get("dataset") else None)
    per_class = per_class or PER_CLASS
    train = resolve_split(dataset, "train", data_dir, progress=progress)
    fit, val, _ = split_validation(train, train_cfg.get("validation") or 0.13)
    test = resolve_split(dataset, "test", data_dir, progress=progress)
    if tuple(train.classes) != tuple(cfg.classes[:len(train.classes)]):
        raise SastLiveError(f"{dataset} has classes {list(train.classes)}; {checkpoint} has {list(cfg.classes)}")
    return dataset, [(part, ds, i) for part, ds in (("fit", fit), ("validation", val), ("test", test))
                     for i in pick_per_class(ds.labels, per_class[part])]


def build_bank(checkpoint, dataset: str | None = None, data_dir: str | None = None, per_class: dict | None = None,
               hop_ms: int | None = None, progress: bool = True, moved: int | None = None) -> Bank:
    """The bank of ``checkpoint`` from its own dataset (or ``dataset``): :data:`PER_CLASS` recordings per class
    of each part, picked evenly (:func:`training.data.mixing.pick_per_class`), and each fit recording ``moved``
    more times (default :data:`MOVED`), each time through its own :func:`moved_warp`."""
    from tqdm import tqdm

    from firmware_sim.precisions import DEPLOYED
    from models.checkpoint.weights import load_model
    from sast_live.formats.registry import read_events
    from sast_live.pipeline.options import DEFAULT_HOP_MS
    from training.convex.dictionary import hidden_firmware

    model, _ = load_model(str(checkpoint))
    cfg = model.cfg
    per_class = {**PER_CLASS, **(per_class or {})}
    hop_bins = max(1, round((hop_ms or DEFAULT_HOP_MS) * 1000 / cfg.bin_us))
    dataset, picked = bank_picks(checkpoint, cfg, dataset, data_dir, per_class, progress)
    sim = hidden_firmware(model, DEPLOYED)
    moved = MOVED if moved is None else moved
    rng = np.random.default_rng(0)
    items = []
    for part, ds, i in tqdm(picked, desc="feature bank", disable=not progress):
        events = read_events(ds.files[i])
        for seen in [events] + (moved_copies(events, cfg, moved, rng) if part == "fit" else []):
            counts, bins = take_hops(sim, seen, cfg, hop_bins)
            items.append((counts, bins, int(ds.labels[i]), part))
    source = f"{dataset}: " + ", ".join(f"{n} per class of {p}" for p, n in per_class.items())
    if moved:
        source += (f" (each fit recording also {moved}× moved, resized, turned or re-timed, with background "
                   "noise and hot pixels)")
    empty = Bank(np.zeros((0, int(np.prod(model.feature_shape))), np.uint8), np.zeros(0, np.uint16),
                 np.zeros(1, np.int64), np.zeros(0, np.int16), np.zeros(0, np.uint8), tuple(cfg.classes),
                 features_digest(model), hop_bins, source, moved=moved,
                 nuisance=bool(moved))
    W = model.readout.weight.detach().double().numpy()
    b = np.zeros(len(W)) if model.readout.bias is None else model.readout.bias.detach().double().numpy()
    return empty.with_recordings(items, cfg.classes).with_anchor(W, b, cfg.classes)


def negative_items(checkpoint, dataset: str, hop_bins: int, data_dir: str | None = None, moved: int = MOVED,
                   progress: bool = True) -> list:
    """Bank items ``(counts, bins, label, "negatives")`` of every no-gesture recording of ``dataset``'s training
    people (the subjects the checkpoint's training held out for validation are left out, as from the fit part),
    each also ``moved`` times moved with background noise and hot pixels, as the fit part stores its recordings,
    counted per hop of ``hop_bins`` bins (the bank's own): more examples of what is not a gesture for the no-gesture
    gate's fit (:func:`training.decision.gate.bank_gate`)."""
    from tqdm import tqdm

    from firmware_sim.precisions import DEPLOYED
    from models.checkpoint.files import read_checkpoint_meta
    from models.checkpoint.weights import load_model
    from sast_live.formats.registry import read_events
    from training.convex.dictionary import hidden_firmware
    from training.data.resolve import resolve_split
    from training.data.validation import split_validation

    model, _ = load_model(str(checkpoint))
    cfg = model.cfg
    if "no_gesture" not in cfg.classes:
        raise SastLiveError(f"{checkpoint} has no no_gesture class: no-gesture recordings would teach its gate nothing")
    train_cfg = read_checkpoint_meta(str(checkpoint))[0].get("train_cfg") or {}
    ds = resolve_split(dataset, "train", data_dir, progress=progress)
    if "no_gesture" not in ds.classes:
        raise SastLiveError(f"{dataset} has no no_gesture recordings (its classes: {', '.join(ds.classes)})")
    fit, _, _ = split_validation(ds, train_cfg.get("validation") or 0.13)
    own = ds.classes.index("no_gesture")
    picks = [i for i, y in enumerate(fit.labels) if y == own]
    if not picks:
        raise SastLiveError(f"{dataset}: its training people have no no_gesture recording")
    sim = hidden_firmware(model, DEPLOYED)
    rng, label, items = np.random.default_rng(1), cfg.classes.index("no_gesture"), []
    for i in tqdm(picks, desc="no-gesture recordings", disable=not progress):
        events = read_events(fit.files[i])
        for seen in [events] + moved_copies(events, cfg, moved, rng):
            counts, bins = take_hops(sim, seen, cfg, hop_bins)
            items.append((counts, bins, label, "negatives"))
    return items


def with_negatives(bank: Bank, items, what: str) -> Bank:
    """``bank`` with its ``negatives`` part replaced by ``items`` (:func:`negative_items`), ``what`` they were
    added to its :attr:`~Bank.source`."""
    kept = bank.keeping(bank.parts != PARTS.index("negatives"))
    source = kept.source.split("; negatives: ")[0] + f"; negatives: {what}"
    return replace(kept.with_recordings(items, kept.classes), source=source)
