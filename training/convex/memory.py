"""Where a sequence task's reconstruction puts its memory, estimated before anything is allocated, so that a P or T
this machine cannot hold is one clear error instead of an allocator's traceback minutes in.

The parts (bytes; K branches of widths ``m_1 … m_L``, P = K·m_L features, n training and n_val validation
sequences of T steps (:func:`training.convex.tasks.split_sizes`), ``rows`` = n + n_val (the last step) or
(n + n_val)·T (a label per step)):

* the network: K·Σ m_l·k_l float32 weights (k_1 = the task's inputs, k_l = m_{l−1});
* the interpreter, torch and the task's data: :data:`RUNTIME` (measured: 0.57 GB for smnist);
* the forward pass, one batch of b = :func:`forward_batch` sequences at a time (256 at most): the last layer's
  features (at every step when each step has a label, T·b·P float32; else the last step's, b·P), each layer's
  state and the step's temporaries (:data:`STATE_ARRAYS` arrays of K·m_l float32 per sequence) and the widest
  branch-by-branch product, b·K·m_l·m_{l−1} float32;
* the dictionary as stored (spikes as bits, counts as uint8, membranes as float32) and as the solver holds it
  (float64), for the fit and the validation rows;
* the solver's per-iteration arrays: scores and gradients, rows·C float64, a few of them, and W, P·C float64.

Surrogate-gradient training of the same network (:func:`sg_estimate`) holds no dictionary: its memory is what
autograd keeps of a batch's forward pass for the backward one, :data:`SG_SAVED_FLOATS` float32 per neuron, step and
sequence, beside the weights, their gradients and Adam's two moments.
"""

from __future__ import annotations

from typing import NamedTuple

from sast_live.errors import SastLiveError

#: sequences the dictionary's forward pass runs at once at most (training.convex.dictionary.parallel_dictionary)
BATCH = 256
#: one step's layer state a forward batch may hold, in neurons × sequences: about 4 MB of float32, so a step's
#: temporaries stay in the cache. With a batch of 256 a step at 28,000 branches of widths (4, 1) moved 115 MB per
#: tensor and the witness's calibration took 560 s (benchmarks/convex_scaling.py); in batches this size a forward
#: pass there is 3.4× faster (10.3 → 3.1 s). Sequences are independent, so the features are the same bit for bit
STEP_FLOATS = 1 << 20


def forward_batch(branches: int, widths, n: int = BATCH) -> int:
    """Sequences a forward pass over ``n`` of them runs at once: :data:`BATCH` at most, and no more than keeps one
    step's widest layer (``branches`` × max(``widths``) neurons) within :data:`STEP_FLOATS`."""
    return max(1, min(BATCH, int(n), STEP_FLOATS // max(1, int(branches) * max(int(w) for w in widths))))


#: float64 (rows, C) arrays the solver keeps at once (iterate scores, momentum scores, gradient, certificate)
SOLVER_ROW_ARRAYS = 6
#: the share of the available memory a run may plan to use
USABLE = 0.9
#: bytes the interpreter, torch and a task's data take before the network (a K = 10 run's peak, smnist)
RUNTIME = 600_000_000
#: arrays of a layer's size a step holds at once (membrane, spike, input current, the spike function's temporaries)
STATE_ARRAYS = 8
#: float32 values autograd keeps per neuron, step and sequence of an SG batch (input current, membrane, spike, the
#: sigmoid's derivative and the products between layers), with the allocator's slack. benchmarks/sg_memory.py
#: (widths (4, 1), (8, 1), (4, 4), (8, 4, 1); batch 32–128; T 14–28; 1,000–4,000 branches; every feature kind):
#: the whole peak RSS over batch·T·neurons came to 11.7–15.3 float32 at its points of 2,000 branches and more (18
#: at the small ones, where the interpreter's 0.3 GB dominates; :data:`RUNTIME` covers that), and the estimate was
#: above every peak (models/zoo/convex/sg-memory.md). The full-MNIST SG run at 7,000 branches, T 28, batch 128
#: peaked at 6.4–6.7 GB against this estimate's 8.6
SG_SAVED_FLOATS = 15
#: sequences per SG step (training.convex.sequence.train_sequence_sg's batch_size)
SG_BATCH = 128


class MemoryEstimate(NamedTuple):
    runtime: int
    network: int
    forward: int
    dictionary_stored: int
    dictionary_float: int
    solver: int

    @property
    def total(self) -> int:
        return sum(self)

    def describe(self) -> str:
        gb = 1e9
        if not (self.dictionary_stored or self.dictionary_float or self.solver):  # surrogate-gradient training
            return (f"{self.total / gb:.2f} GB: runtime {self.runtime / gb:.2f}, network with its gradients and Adam's "
                    f"moments {self.network / gb:.2f}, forward pass kept for the backward one {self.forward / gb:.2f}")
        return (f"{self.total / gb:.2f} GB: runtime {self.runtime / gb:.2f}, network {self.network / gb:.2f}, "
                f"forward pass {self.forward / gb:.2f}, "
                f"dictionary {self.dictionary_stored / gb:.2f} stored + {self.dictionary_float / gb:.2f} as the "
                f"solver's float64, solver {self.solver / gb:.2f}")


def estimate(n_in: int, n_classes: int, steps: int, per_step: bool, branches: int, widths, features: str,
             n_train: int, n_val: int | None = None, source_bytes: int = 0) -> MemoryEstimate:
    """The :class:`MemoryEstimate` of a sequence reconstruction (the module's parts), in bytes; ``n_val``
    validation sequences (None: a quarter of ``n_train``); ``source_bytes``: a dataset held beside the runtime
    (smnist-full's 70,000 digits), counted in it."""
    widths = tuple(int(w) for w in widths)
    fan_in = (n_in, *widths[:-1])
    network = 4 * branches * sum(m * k for m, k in zip(widths, fan_in, strict=True))
    p = branches * widths[-1]
    b = forward_batch(branches, widths, n_train)
    widest = max(m * k for m, k in zip(widths[1:], widths[:-1], strict=True)) if len(widths) > 1 else 0
    forward = 4 * b * ((steps if per_step else 1) * p + STATE_ARRAYS * branches * sum(widths) + branches * widest)
    n_val = max(1, n_train // 4) if n_val is None else n_val
    n_rows = (n_train + n_val) * (steps if per_step else 1)
    per_value = {"spike": 1 / 8, "count": 1, "membrane": 4}.get(features, 4)
    stored = int(n_rows * p * per_value)
    as_float = 8 * n_rows * p  # training.convex.reconstruct hands the solver float64
    solver = 8 * (SOLVER_ROW_ARRAYS * n_rows * n_classes + 4 * p * n_classes)
    return MemoryEstimate(RUNTIME + int(source_bytes), network, forward, stored, as_float, solver)


def sg_estimate(n_in: int, steps: int, branches: int, widths, batch: int = SG_BATCH,
                source_bytes: int = 0) -> MemoryEstimate:
    """The :class:`MemoryEstimate` of surrogate-gradient training of K = ``branches`` branches of ``widths`` on
    sequences of ``steps`` steps of ``n_in`` inputs, ``batch`` sequences a step, in bytes: the weights four times
    (themselves, gradients, Adam's two moments) and :data:`SG_SAVED_FLOATS` per neuron, step and sequence kept for
    the backward pass; no dictionary and no solver."""
    widths = tuple(int(w) for w in widths)
    fan_in = (n_in, *widths[:-1])
    network = 4 * 4 * branches * sum(m * k for m, k in zip(widths, fan_in, strict=True))
    kept = 4 * SG_SAVED_FLOATS * int(batch) * steps * branches * sum(widths)
    return MemoryEstimate(RUNTIME + int(source_bytes), network, kept, 0, 0, 0)


def available_bytes() -> int:
    """Memory the kernel says a new allocation can have (``MemAvailable``), or the physical memory."""
    try:
        with open("/proc/meminfo") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    import os

    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")


def check_fits(est: MemoryEstimate, what: str, available: int | None = None,
               lower: str = "--branches, --n-train or --length") -> None:
    """Refuse a run whose estimate is above :data:`USABLE` of the available memory, naming the parts and the
    options (``lower``) that shrink it."""
    available = available_bytes() if available is None else available
    if est.total > USABLE * available:
        raise SastLiveError(f"{what} needs about {est.describe()}; this machine has {available / 1e9:.1f} GB "
                            f"available: lower {lower}")
