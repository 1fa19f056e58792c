"""Training-time augmentation of binned windows: what a new room, a new person and a worse camera do to the input.

Applied to a batch ``x`` of event counts ``(T, B, 2, H, W)`` (the pooled frames the network reads), each sample
with its own draw from a seeded ``torch.Generator`` (so a run is reproducible and a resumed run identical):

* **shift** — the whole window moves by up to ``max_shift`` pooled pixels (zero-filled, not wrapped);
* **drop** — each event survives with a probability drawn in ``[1 − max_drop, 1]`` (binomial thinning);
* **noise** — background activity: Poisson counts at a rate drawn in ``[0, max_noise_hz]`` per sensor pixel;
* **hot pixels** — up to ``max_hot`` pixels that fire in every bin at a high rate (one polarity each);
* **onset** — with probability ``onset_p`` the first ``k`` bins are emptied, ``k`` up to ``max_onset`` of the
  window: a gesture that began part-way into the window (what a streaming app sees shortly after a start);
  applied before noise and hot pixels, which then fill the quiet part as the camera would.

Rates are given per *sensor* pixel and converted with the pooling factor and the bin width, so the same config
means the same camera for any network input size. Corruptions at evaluation are applied to events instead
(:mod:`sast_live.transforms.corruptions`), so evaluation tests more than the training saw.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

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

    def __post_init__(self):
        if self.max_shift < 0 or not 0 <= self.max_drop < 1 or self.max_noise_hz < 0 or self.max_hot < 0 \
                or not 0 <= self.max_onset < 1 or not 0 <= self.onset_p <= 1:
            raise SastLiveError(f"impossible augmentation {self}")


def augment(x: torch.Tensor, gen: torch.Generator, cfg: AugmentConfig, bin_us: int, pool: int) -> torch.Tensor:
    """A new tensor: ``x`` (T, B, 2, H, W) counts with every sample augmented; ``pool`` sensor pixels per input
    pixel (area), ``bin_us`` the bin width."""
    T, B, C, H, W = x.shape
    out = x.clone()
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
