"""A network's outputs over a cached split (centred windows): logits, probabilities, accuracy, with either spike
function; what training, evaluation, calibration and the convex trainer all read."""

from __future__ import annotations

import numpy as np
import torch

from models.decision import softmax
from training.data.frames import FrameCache


@torch.no_grad()
def predict_logits(model, cache: FrameCache, mode: str, device="cpu", batch_size: int = 64) -> np.ndarray:
    """Logits (N, classes) over a cached split (centred windows), spike function ``mode``."""
    model.eval()
    return np.concatenate([model(x.to(device), mode).double().cpu().numpy() for x, _ in cache.batches(batch_size)])


def predict(model, cache: FrameCache, mode: str, device="cpu", batch_size: int = 64) -> np.ndarray:
    """Softmax probabilities (N, classes) over a cached split (centred windows), spike function ``mode``."""
    return softmax(predict_logits(model, cache, mode, device, batch_size))


def evaluate_accuracy(model, cache: FrameCache, mode: str, device="cpu", batch_size: int = 64) -> float:
    """Accuracy over a cached split (centred windows) with spike function ``mode``."""
    if len(cache) == 0:
        return 0.0
    return float((predict(model, cache, mode, device, batch_size).argmax(1) == cache.labels.numpy()).mean())
