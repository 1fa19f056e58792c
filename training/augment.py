"""Training-time augmentation of binned windows: what a new room, a new person and a worse camera do to the input.

Applied to a batch ``x`` of event counts ``(T, B, 2, H, W)`` (the pooled frames the network reads), each sample
with its own draw from a seeded ``torch.Generator`` (so a run is reproducible and a resumed run identical):

* **shift** — the whole window moves by up to ``max_shift`` pooled pixels (zero-filled, not wrapped);
* **drop** — each event survives with a probability drawn in ``[1 − max_drop, 1]`` (binomial thinning);
* **noise** — background activity: Poisson counts at a rate drawn in ``[0, max_noise_hz]`` per sensor pixel;
* **hot pixels** — up to ``max_hot`` pixels that fire in every bin at a high rate (one polarity each);
* **onset** — with probability ``onset_p`` the first ``k`` bins are emptied, ``k`` up to ``max_onset`` of the
  window: a gesture that began part-way into the window (what a streaming app sees shortly after a start);
  applied before noise and hot pixels, which then fill the quiet part as the camera would;
* **geometry** (``--augment-geometry``, :data:`GEOMETRY`) — with probability ``geo_p`` the window is resized about
  its centre (``scale``, log-uniform), turned (± ``rotation`` degrees) and moved (± ``geo_shift`` pooled pixels)
  by one affine map per sample (shrinking: every pixel's counts added where the map sends it, as shrinking the
  events before pooling does; otherwise the nearest source pixel, counts rescaled by the area change and rounded
  stochastically, so an enlarged person does not gain events), and re-timed
  (``speed``, log-uniform: :func:`retime`, drawn when the window is cut from its recording) — the robustness
  grid's changes, drawn anew for every window of every epoch. Applied first. With ``geo_each``
  (``--geometry-each``) the resize, the turn, the move and the tempo are each drawn on their own with probability
  ``geo_p``, so most windows carry one or two changes rather than all of them at once.

Rates are given per *sensor* pixel and converted with the pooling factor and the bin width, so the same config
means the same camera for any network input size. Corruptions at evaluation are applied to events instead
(:mod:`sast_live.transforms.corruptions`), so evaluation tests more than the training saw.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from sast_live.errors import SastLiveError


@dataclass(frozen=True)
class AugmentConfig:
    # the upper ends cover the evaluation's severity-2 corruptions (5 Hz of noise per pixel; 0.2 % of a 128×128
    # array, 33 pixels, hot at 1 kHz), so the network learns to look past them
    max_shift: int = 2  # pooled pixels (gestures: 4×4 sensor pixels each)
    max_drop: float = 0.3
    max_noise_hz: float = 8.0  # per sensor pixel, both polarities
    max_hot: int = 40
    hot_rate_hz: tuple[float, float] = (100.0, 1000.0)
    max_onset: float = 0.0  # fraction of the window that may be empty before the gesture (0: off)
    onset_p: float = 0.5
    scale: tuple[float, float] = (1.0, 1.0)  # geometry: size about the centre (log-uniform)
    rotation: float = 0.0  # geometry: ± degrees
    geo_shift: int = 0  # geometry: ± pooled pixels, x and y
    speed: tuple[float, float] = (1.0, 1.0)  # geometry: tempo (log-uniform; retime)
    geo_p: float = 0.0  # share of the windows that get the geometry
    geo_each: bool = False  # scale, turn, move (and tempo) each drawn with probability geo_p, not all together
    mirror_p: float = 0.0  # share of the windows seen in a mirror, their classes mirrored too (mirror_classes)

    def __post_init__(self):
        if self.max_shift < 0 or not 0 <= self.max_drop < 1 or self.max_noise_hz < 0 or self.max_hot < 0 \
                or not 0 <= self.max_onset < 1 or not 0 <= self.onset_p <= 1 or not 0 <= self.geo_p <= 1 \
                or not 0 <= self.mirror_p <= 1 \
                or not 0 < self.scale[0] <= self.scale[1] or not 0 < self.speed[0] <= self.speed[1] \
                or self.rotation < 0 or self.geo_shift < 0:
            raise SastLiveError(f"impossible augmentation {self}")

    @property
    def has_geometry(self) -> bool:
        return self.geo_p > 0 and (self.scale != (1.0, 1.0) or self.rotation > 0 or self.geo_shift > 0)

    @property
    def has_speed(self) -> bool:
        return self.geo_p > 0 and self.speed != (1.0, 1.0)


#: ``--augment-geometry``: the robustness grid's changes and a little beyond (scale 0.6–1.5, shift ±20 sensor px,
#: rotation ±15°, speed 0.6–1.6), on 80 % of the windows (the rest stay nominal)
GEOMETRY = {"scale": (0.55, 1.6), "rotation": 17.0, "geo_shift": 6, "speed": (0.55, 1.75), "geo_p": 0.8}
#: ``--augment-geometry --geometry-each``: the same ranges, each change on its own half of the windows (all four
#: together on 1 in 16; none on 1 in 16)
GEOMETRY_EACH = {**GEOMETRY, "geo_p": 0.5, "geo_each": True}
#: ``--geometry-wide``: the grid's changes land on people who already differ — each subject stands up to ±8 sensor px
#: off-centre and is 1.3–1.6 units tall (:mod:`sast_live.synthetic.people`) — so a grid point of +20 px on a subject
#: at +8, or 1.5× on the tallest, sits at the edge of :data:`GEOMETRY`'s draw, where it is thinnest. Wide covers
#: shift ±(20 + 8) px with a margin (±8 input pixels = ±32 sensor px) and scale 0.6 × 1.3/1.45 … 1.5 × 1.6/1.45
#: (the smallest and tallest subject against the mean) with one: 0.5–1.8
GEOMETRY_WIDE = {"scale": (0.5, 1.8), "geo_shift": 8}


#: ``--mirror``: half the training windows seen in a mirror
MIRROR_P = 0.5
#: words a mirror swaps in a class name: the side, and the sense of a circle in the image plane
_MIRRORED_WORDS = {"left": "right", "right": "left", "clockwise": "counter_clockwise",
                   "counter_clockwise": "clockwise"}


def mirror_name(name: str) -> str:
    """The class a left-right mirror turns ``name`` into: left ↔ right, clockwise ↔ counter_clockwise, word by word
    ("left_arm_clockwise" → "right_arm_counter_clockwise"); a name without such words is its own mirror image."""
    words = name.split("_")
    out, i = [], 0
    while i < len(words):
        if words[i] == "counter" and i + 1 < len(words) and words[i + 1] == "clockwise":
            out.append("clockwise")
            i += 2
            continue
        out.append(_MIRRORED_WORDS.get(words[i], words[i]))
        i += 1
    return "_".join(out)


def mirror_classes(classes) -> list[int]:
    """Per class index, the index of its mirror image (:func:`mirror_name`), or −1 when that class is not among
    ``classes`` (a taught "punch_right" without a "punch_left": its windows are never mirrored)."""
    index = {name: i for i, name in enumerate(classes)}
    return [index.get(mirror_name(name), -1) for name in classes]


def mirror(x: torch.Tensor, y: torch.Tensor, gen: torch.Generator, p: float, mirrored: list[int]) -> tuple:
    """``(x, y)``: ``x`` (T, B, C, H, W) with each window whose class has a mirror image (``mirrored``, from
    :func:`mirror_classes`) flipped left-right with probability ``p``, and its label ``y`` (B,) made that image's.
    New tensors; the draw is made for every window, so the generator's stream does not depend on the labels."""
    image = torch.as_tensor(mirrored, dtype=torch.int64)[y]
    flip = (torch.rand(y.shape[0], generator=gen) < p) & (image >= 0)
    x = x.clone()
    x[:, flip] = x[:, flip].flip(-1)
    return x, torch.where(flip, image, y)


def log_uniform(lo: float, hi: float, n: int, gen: torch.Generator) -> torch.Tensor:
    return torch.exp(math.log(lo) + (math.log(hi) - math.log(lo)) * torch.rand(n, generator=gen))


def _stochastic_round(x: torch.Tensor, factor: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
    """``x · factor`` (factor broadcast) as whole counts: the integer part, plus a binomial draw of the rest."""
    whole = torch.floor(factor)
    frac = (factor - whole).expand_as(x)
    return x * whole + torch.binomial(x, frac.contiguous(), generator=gen)


def geometry(x: torch.Tensor, gen: torch.Generator, cfg: AugmentConfig) -> torch.Tensor:
    """``x`` (T, B, C, H, W) counts, each sample (with probability ``geo_p``) resized, turned and moved.

    Shrinking (scale < 1) moves every input pixel's counts to where the map sends it (:func:`_splat`): what
    shrinking the events and then pooling them does, every count kept. Enlarging or turning samples each output
    pixel's source instead (nearest pixel, counts thinned by the area change), which leaves no holes."""
    T, B, C, H, W = x.shape
    use = torch.rand(B, generator=gen) < cfg.geo_p
    # with geo_each, the turn and the move get draws of their own (the scale keeps ``use``); without it none are
    # drawn, so the generator's stream, and every run made before the option, stay as they were
    use_a, use_d = (torch.rand(B, generator=gen) < cfg.geo_p, torch.rand(B, generator=gen) < cfg.geo_p) \
        if cfg.geo_each else (use, use)
    s = torch.where(use, log_uniform(*cfg.scale, B, gen), torch.ones(B))
    a = torch.where(use_a, (2 * torch.rand(B, generator=gen) - 1) * math.radians(cfg.rotation), torch.zeros(B))
    d = torch.where(use_d[:, None], torch.randint(-cfg.geo_shift, cfg.geo_shift + 1, (B, 2), generator=gen).float(),
                    torch.zeros(B, 2))
    # affine_grid maps output to input coordinates in [-1, 1]: the inverse of "scale by s, turn by a, move by d"
    cos, sin = torch.cos(a), torch.sin(a)
    theta = torch.zeros(B, 2, 3)
    theta[:, 0, 0], theta[:, 0, 1] = cos / s, sin / s
    theta[:, 1, 0], theta[:, 1, 1] = -sin / s, cos / s
    shift = torch.stack([d[:, 0] * 2 / W, d[:, 1] * 2 / H], 1)
    theta[:, :, 2] = -(theta[:, :, :2] @ shift[:, :, None])[:, :, 0]
    grid = F.affine_grid(theta, (B, T * C, H, W), align_corners=False)
    moved = F.grid_sample(x.permute(1, 0, 2, 3, 4).reshape(B, T * C, H, W), grid, mode="nearest",
                          padding_mode="zeros", align_corners=False)
    moved = moved.reshape(B, T, C, H, W).permute(1, 0, 2, 3, 4)
    # every sample's rounding is drawn, shrunk ones too, so the generator's stream does not depend on the scales
    out = _stochastic_round(moved, (1.0 / (s * s)).view(1, B, 1, 1, 1), gen)
    for b in torch.nonzero(s < 1).flatten().tolist():
        out[:, b] = _splat(x[:, b], float(s[b]), float(a[b]), (float(d[b, 0]), float(d[b, 1])))
    return out


def _splat(x: torch.Tensor, s: float, a: float, d: tuple[float, float]) -> torch.Tensor:
    """``x`` (T, C, H, W) counts with each pixel's counts added at the output pixel nearest to where "scale by
    ``s`` about the centre, turn by ``a`` radians, move by ``d`` pixels" sends its centre (the forward form of
    :func:`geometry`'s map); counts that land outside the view are lost."""
    T, C, H, W = x.shape
    yy, xx = torch.meshgrid(torch.arange(H, dtype=torch.float32), torch.arange(W, dtype=torch.float32),
                            indexing="ij")
    u, v = xx + 0.5 - W / 2, yy + 0.5 - H / 2  # pixel centres about the view's centre
    ou = s * (math.cos(a) * u - math.sin(a) * v) + d[0] + W / 2
    ov = s * (math.sin(a) * u + math.cos(a) * v) + d[1] + H / 2
    ox, oy = torch.floor(ou).long(), torch.floor(ov).long()
    inside = ((ox >= 0) & (ox < W) & (oy >= 0) & (oy < H)).flatten()
    target = (oy * W + ox).flatten()[inside]
    out = torch.zeros(T * C, H * W)
    out.index_add_(1, target, x.reshape(T * C, H * W)[:, inside])
    return out.reshape(T, C, H, W)


def retime(frames: np.ndarray, start: int, length: int, n_bins: int, gen: torch.Generator) -> np.ndarray:
    """``length`` bins of ``frames`` (L, C, H, W) from ``start`` played in ``n_bins`` bins (speed length/n_bins):
    faster — source bins summed into each output bin; slower — each output bin takes its source bin's events
    thinned to the share of it it covers. Returns (n_bins, C, H, W) uint8."""
    src = torch.from_numpy(np.asarray(frames[start:start + length], np.float32))
    edges = np.floor(np.arange(n_bins + 1) * length / n_bins).astype(int)
    if length >= n_bins:  # faster: every source bin lands in exactly one output bin
        out = torch.stack([src[edges[j]:max(edges[j + 1], edges[j] + 1)].sum(0) for j in range(n_bins)])
    else:
        pick = torch.as_tensor(np.minimum(np.arange(n_bins) * length // n_bins, length - 1))
        out = torch.binomial(src[pick], torch.full_like(src[pick], length / n_bins), generator=gen)
    return out.clamp_(max=255.0).numpy().astype(np.uint8)


def augment(x: torch.Tensor, gen: torch.Generator, cfg: AugmentConfig, bin_us: int, pool: int) -> torch.Tensor:
    """A new tensor: ``x`` (T, B, 2, H, W) counts with every sample augmented; ``pool`` sensor pixels per input
    pixel (area), ``bin_us`` the bin width."""
    T, B, C, H, W = x.shape
    out = geometry(x, gen, cfg) if cfg.has_geometry else x.clone()
    if cfg.max_shift:
        shifts = torch.randint(-cfg.max_shift, cfg.max_shift + 1, (B, 2), generator=gen)
        for b in range(B):
            dy, dx = int(shifts[b, 0]), int(shifts[b, 1])
            moved = torch.zeros_like(out[:, b])
            ys, yd = (slice(0, H - dy), slice(dy, H)) if dy >= 0 else (slice(-dy, H), slice(0, H + dy))
            xs, xd = (slice(0, W - dx), slice(dx, W)) if dx >= 0 else (slice(-dx, W), slice(0, W + dx))
            moved[:, :, yd, xd] = out[:, b, :, ys, xs]
            out[:, b] = moved
    if cfg.max_onset:
        k_max = int(cfg.max_onset * T)
        late = torch.rand(B, generator=gen) < cfg.onset_p
        starts = torch.randint(1, max(k_max, 1) + 1, (B,), generator=gen)
        for b in range(B):
            if late[b] and k_max >= 1:
                out[:int(starts[b]), b] = 0
    if cfg.max_drop:
        keep = 1 - cfg.max_drop * torch.rand((1, B, 1, 1, 1), generator=gen)
        out = torch.binomial(out, keep.expand_as(out), generator=gen)
    if cfg.max_noise_hz:
        rate = cfg.max_noise_hz * torch.rand((1, B, 1, 1, 1), generator=gen)  # per sensor pixel, both polarities
        lam = (rate * pool * bin_us * 1e-6 / 2).expand(T, B, C, H, W)
        out = out + torch.poisson(lam, generator=gen)
    if cfg.max_hot:
        n_hot = torch.randint(0, cfg.max_hot + 1, (B,), generator=gen)
        lo, hi = cfg.hot_rate_hz
        for b in range(B):
            for _ in range(int(n_hot[b])):
                y, xx, p = (int(torch.randint(0, n, (1,), generator=gen)) for n in (H, W, C))
                rate = lo + (hi - lo) * float(torch.rand((1,), generator=gen))
                out[:, b, p, y, xx] += torch.poisson(torch.full((T,), rate * bin_us * 1e-6), generator=gen)
    return out.clamp_(max=255.0)  # the frames are saturating uint8 counts


def nuisance_events(t0_us: int, t1_us: int, sensor, rng: np.random.Generator,
                    cfg: AugmentConfig | None = None) -> np.ndarray:
    """The events twin of :func:`augment`'s noise and hot pixels, for recordings that are not binned windows (a
    feature bank's, :mod:`training.teach.bank`): between ``t0_us`` and ``t1_us`` on a ``sensor`` (W, H) of sensor
    pixels, background activity at a rate drawn in ``[0, max_noise_hz]`` per pixel (random polarity) and up to
    ``max_hot`` hot pixels, each at a rate drawn in ``hot_rate_hz`` with one polarity — drawn as training draws them
    for one window, as Poisson processes (EVENT_DTYPE, time order)."""
    from sast_live.events import concat, make_events

    cfg = cfg or AugmentConfig()
    w, h = int(sensor[0]), int(sensor[1])
    span = max(0, int(t1_us) - int(t0_us))
    n = int(rng.poisson(cfg.max_noise_hz * rng.random() * w * h * span * 1e-6))
    parts = [make_events(rng.integers(t0_us, t0_us + max(span, 1), n), rng.integers(0, w, n), rng.integers(0, h, n),
                         rng.integers(0, 2, n))]
    lo, hi = cfg.hot_rate_hz
    for _ in range(int(rng.integers(0, cfg.max_hot + 1))):
        x, y, p = int(rng.integers(0, w)), int(rng.integers(0, h)), int(rng.integers(0, 2))
        k = int(rng.poisson(rng.uniform(lo, hi) * span * 1e-6))
        parts.append(make_events(rng.integers(t0_us, t0_us + max(span, 1), k), np.full(k, x), np.full(k, y),
                                 np.full(k, p)))
    ev = concat(parts)
    return ev[np.argsort(ev["t"], kind="stable")]


def with_nuisance(events: np.ndarray, sensor, rng: np.random.Generator, cfg: AugmentConfig | None = None) -> np.ndarray:
    """``events`` (time order) with :func:`nuisance_events` over their time span merged in, in time order."""
    from sast_live.events import concat

    if not len(events):
        return events
    ev = concat([events, nuisance_events(int(events["t"][0]), int(events["t"][-1]) + 1, sensor, rng, cfg)])
    return ev[np.argsort(ev["t"], kind="stable")]
