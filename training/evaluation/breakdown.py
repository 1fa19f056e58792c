"""Where a model is right and wrong: accuracy per test subject, per lighting and per class, the confusion matrix,
and what its decision rule (:mod:`models.decision`) does to gestures and to "no gesture" samples."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from models.decision import NO_CLASS, UNFAMILIAR_CLASS


def confusion(pred: np.ndarray, labels: np.ndarray, n_classes: int) -> np.ndarray:
    """``(n_classes, n_classes)`` counts, rows = true class, columns = predicted class."""
    out = np.zeros((n_classes, n_classes), np.int64)
    np.add.at(out, (np.asarray(labels), np.asarray(pred)), 1)
    return out


def _group(keys, correct: np.ndarray) -> dict:
    out = {}
    for key in sorted(set(keys), key=str):
        m = np.array([k == key for k in keys])
        out[str(key)] = {"n": int(m.sum()), "accuracy": float(correct[m].mean())}
    return out


def breakdown(preds: dict[str, np.ndarray], labels: np.ndarray, classes, recordings=None) -> dict:
    """Accuracy of each prediction set in ``preds`` (name → (N,) class indices) per class and, where the dataset
    records them (``recordings``: (subject, lighting) per sample), per subject and per lighting."""
    labels = np.asarray(labels)
    out = {}
    for name, pred in preds.items():
        correct = np.asarray(pred) == labels
        entry = {"by_class": {classes[int(k)]: v for k, v in _group(labels.tolist(), correct).items()}}
        if recordings is not None:
            entry["by_subject"] = _group([s for s, _ in recordings], correct)
            entry["by_lighting"] = _group([li for _, li in recordings], correct)
            subj = [v["accuracy"] for v in entry["by_subject"].values()]
            entry["subject_spread"] = {"min": float(min(subj)), "max": float(max(subj)),
                                       "std": float(np.std(subj))}
        out[name] = entry
    return out


def decision_figures(decided: np.ndarray, labels: np.ndarray, reject_class: int | None) -> dict:
    """What the decision rule does on a test set: gestures it turns into "no gesture" or "unfamiliar scene" (the
    in-distribution unfamiliar rate), its accuracy counting a rejected gesture as wrong and a rejected or
    unfamiliar no-gesture sample as right."""
    labels = np.asarray(labels)
    is_gesture = labels != (reject_class if reject_class is not None else -2)
    rejected = decided == NO_CLASS
    unfamiliar = decided == UNFAMILIAR_CLASS
    right = np.where(is_gesture, decided == labels, rejected | unfamiliar)
    out = {"accuracy": float(right.mean()),
           "gestures_rejected": float(rejected[is_gesture].mean()) if is_gesture.any() else 0.0,
           "gestures_unfamiliar": float(unfamiliar[is_gesture].mean()) if is_gesture.any() else 0.0,
           "gesture_accuracy": float((decided == labels)[is_gesture].mean()) if is_gesture.any() else 0.0}
    if (~is_gesture).any():
        out["no_gesture_recall"] = float(rejected[~is_gesture].mean())
    return out


def plot_confusion(matrix: np.ndarray, classes, title: str, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = matrix / np.maximum(matrix.sum(1, keepdims=True), 1)
    n = len(classes)
    fig, ax = plt.subplots(figsize=(1.0 + 0.55 * n, 0.8 + 0.5 * n))
    ax.imshow(rows, cmap="Blues", vmin=0, vmax=1)
    for i in range(n):
        for j in range(n):
            if matrix[i, j]:
                ax.text(j, i, str(matrix[i, j]), ha="center", va="center", fontsize=7,
                        color="white" if rows[i, j] > 0.5 else "black")
    names = [c.replace("_", " ") for c in classes]
    ax.set_xticks(range(n), names, rotation=60, ha="right", fontsize=7)
    ax.set_yticks(range(n), names, fontsize=7)
    ax.set(xlabel="predicted", ylabel="true", title=title)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
