"""The readout refitted on frozen features: a strongly convex problem with one optimum and a bound on the distance
to it.

With the sensor's hidden layers fixed, a window's logits are linear in its features (:mod:`firmware_sim.features`):
``z = W f + b``. Teaching fits ``W`` (classes × F) and ``b`` (classes,) by

    minimise  Σ_i ω_i · CE(z_i / T, y_i)  +  Σ_c (λ_c/2) (‖W_c − W₀_c‖² + (b_c − b₀_c)²)          (Σ ω_i = 1)

where ``T`` is the base model's calibrated temperature (the fit works in the units the app's confidences and its
floor are in, so the floor keeps its meaning), ``W₀, b₀`` the base readout (a new class starts from a zero row and
the old classes' mean bias) and ``ω`` the class-balanced sample weights. Cross-entropy is convex in ``(W, b)`` and
the penalty makes the objective λ-strongly convex (λ = min_c λ_c; one λ for every class, or one per class: a strong
pull on the rows of the classes being kept and a weak one on a class being taught), so the optimum is unique and
for any point ``F(x) − F* ≤ ‖∇F(x)‖² / (2λ)``: the fit reports that bound (the *certificate*), computed in float64. The
penalty towards the base readout is also what keeps the old classes where they were when the new class's takes
are few. Solved by L-BFGS (strong-Wolfe line search) in float32 — the features are small counts per bin, and
half-width arithmetic halves the time of every step — with a long memory (:data:`HISTORY`) until the gradient's
max-norm is below ``tol``, then in
float64 from there until the bound, computed in float64, is below :data:`GAP` (often at once); the objective, the
gradient and the bound reported are the float64 ones at the point reached.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from sast_live.errors import SastLiveError


@dataclass(frozen=True)
class ReadoutFit:
    W: np.ndarray  # (classes, F) float64
    b: np.ndarray  # (classes,) float64
    objective: float
    gap_bound: float  # F(W, b) − F* ≤ this (strong convexity: ‖∇F‖² / 2λ)
    grad_norm: float
    iterations: int
    seconds: float


def class_weights(y: np.ndarray, n_classes: int) -> np.ndarray:
    """Sample weights (n,) summing to 1 in which every class present weighs the same."""
    y = np.asarray(y)
    counts = np.bincount(y, minlength=n_classes).astype(np.float64)
    present = int((counts > 0).sum())
    if present == 0:
        raise SastLiveError("no samples to fit the readout on")
    return 1.0 / (present * counts[y])


def objective(W: torch.Tensor, b: torch.Tensor, X: torch.Tensor, y: torch.Tensor, w: torch.Tensor,
              W0: torch.Tensor, b0: torch.Tensor, temperature: float, lam) -> torch.Tensor:
    """The fit's objective (module docstring) at ``(W, b)``."""
    z = (X @ W.T + b) / temperature
    ce = F.cross_entropy(z, y, reduction="none")
    lam = torch.as_tensor(lam, dtype=W.dtype)  # a number, or one λ per class (row)
    per_row = ((W - W0) ** 2).sum(1) + (b - b0) ** 2
    return (w * ce).sum() + 0.5 * (lam * per_row).sum()


def fit_readout(X: np.ndarray, y: np.ndarray, W0: np.ndarray, b0: np.ndarray, temperature: float, lam,
                sample_weight: np.ndarray | None = None, tol: float = 1e-6, max_iter: int = 1000,
                start: tuple[np.ndarray, np.ndarray] | None = None) -> ReadoutFit:
    """The optimum of the module's problem for features ``X`` (n, F), labels ``y`` (n,) in ``[0, len(W0))``,
    starting readout ``W0`` (classes, F) and ``b0`` (classes,); ``sample_weight`` default: class-balanced;
    ``start``: where the solver starts (default ``(W0, b0)``; the optimum does not depend on it)."""
    X, y = np.asarray(X, np.float64), np.asarray(y, np.int64)
    n_classes = len(W0)
    if X.ndim != 2 or len(X) != len(y) or X.shape[1] != W0.shape[1] or len(b0) != n_classes:
        raise SastLiveError(f"readout fit: features {X.shape}, labels {y.shape}, readout {np.shape(W0)} and bias "
                            f"{np.shape(b0)} do not agree")
    if len(y) == 0 or y.min() < 0 or y.max() >= n_classes:
        raise SastLiveError(f"readout fit: labels must be class indices below {n_classes}")
    lam = np.asarray(lam, np.float64)
    if lam.ndim and lam.shape != (n_classes,):
        raise SastLiveError(f"readout fit: λ is one number or one per class ({n_classes}), got shape {lam.shape}")
    if not ((lam > 0).all() and np.isfinite(lam).all() and temperature > 0 and np.isfinite(X).all()):
        raise SastLiveError(f"readout fit: need λ > 0, a temperature > 0 and finite features (λ {lam}, T "
                            f"{temperature})")
    w = class_weights(y, n_classes) if sample_weight is None else np.asarray(sample_weight, np.float64)
    if len(w) != len(y) or not (np.isfinite(w).all() and (w >= 0).all() and w.sum() > 0):
        raise SastLiveError("readout fit: the sample weights must be one finite, non-negative weight per sample")
    t0 = time.perf_counter()
    w = w / w.sum()
    threads = torch.get_num_threads()
    torch.set_num_threads(min(MAX_THREADS, threads))
    try:
        return _fit(X, y, w, W0, b0, temperature, lam, tol, max_iter, t0, start or (W0, b0))
    finally:
        torch.set_num_threads(threads)


def _fit(X, y, w, W0, b0, temperature, lam, tol, max_iter, t0, start) -> ReadoutFit:
    W, b = _lbfgs(X, y, w, W0, b0, temperature, lam, tol, max_iter, torch.float32, *start)
    steps = _lbfgs.iterations
    W, b, f, g2, more = _polish(X, y, w, W0, b0, temperature, lam, W, b)
    return ReadoutFit(W, b, f, g2 / (2 * lam.min()), g2 ** 0.5, steps + more, time.perf_counter() - t0)


#: the solver's threads at most: torch's own (one per core, or OMP_NUM_THREADS), up to this. The fit's matrix
#: products over ~12,000 windows × 1,024 features halve their time on two cores (7.6 → 3.5 s); beyond four they gain
#: little. Teaching holds the window's source still, so nothing else of the app's competes for them.
MAX_THREADS = 4

#: float64 L-BFGS steps at most after the float32 run, taken POLISH_CHUNK at a time, and the certificate they aim for.
#: 1e-5 of an objective near 0.09 (a relative 1e-4: no window's answer depends on it). With λ 3e-5 and 25,000 windows
#: 1e-6 took the 100 steps and was not always reached (2–7e-6); 1e-5 is reached in 60–80 (17 → 15 s on 2 cores)
POLISH = 100
POLISH_CHUNK = 5
GAP = 1e-5

#: L-BFGS's memory (curvature pairs kept). The problem is ill-conditioned (λ 3e-5 against features' curvature near
#: 1): with 100 pairs and the float32 run taken down to a gradient of 1e-6 (it used to stop at 1e-5 with 20 pairs),
#: the shipped bank plus 6 takes needs 206 steps, not 335, and almost no float64 polish: 25 → 11.5 s on 2 cores.
#: 13 classes × 1,025 values × 100 × 2 float32 pairs: 10 MB.
HISTORY = 100


def _polish(X, y, w, W0, b0, temperature, lam, W_start, b_start) -> tuple[np.ndarray, np.ndarray, float, float, int]:
    """float64 L-BFGS from the float32 run's point until the certificate ‖∇F‖₂² / 2λ, computed in float64, is below
    :data:`GAP` (checked every :data:`POLISH_CHUNK` steps; often at once); ``(W, b, F, ‖∇F‖₂², steps)`` at the point
    reached — the objective and its gradient there are the certificate's."""
    W, b, opt, closure = _solver(X, y, w, W0, b0, temperature, lam, torch.float64, W_start, b_start,
                                 max_iter=POLISH_CHUNK, max_eval=POLISH_CHUNK * 5, tolerance_grad=0.0)
    steps = 0
    while True:
        f = closure()
        g2 = float((W.grad ** 2).sum() + (b.grad ** 2).sum())
        if g2 / (2 * lam.min()) <= GAP or steps >= POLISH:
            break
        opt.step(closure)
        done = int(opt.state[opt._params[0]].get("n_iter", 0))
        if done == steps:  # L-BFGS found no descent direction: as close as float64 gets
            f = closure()
            g2 = float((W.grad ** 2).sum() + (b.grad ** 2).sum())
            break
        steps = done
    return W.detach().numpy().copy(), b.detach().numpy().copy(), float(f.detach()), g2, steps


def _lbfgs(X, y, w, W0, b0, temperature, lam, tol, max_iter, dtype, W_start, b_start) -> tuple[np.ndarray, np.ndarray]:
    """L-BFGS on the objective in ``dtype`` from ``(W_start, b_start)``; the point reached (its step count in
    ``_lbfgs.iterations``)."""
    W, b, opt, closure = _solver(X, y, w, W0, b0, temperature, lam, dtype, W_start, b_start, max_iter=max_iter,
                                 tolerance_grad=tol)
    opt.step(closure)
    _lbfgs.iterations = int(opt.state[opt._params[0]].get("n_iter", 0))
    return W.detach().double().numpy(), b.detach().double().numpy()


def _solver(X, y, w, W0, b0, temperature, lam, dtype, W_start, b_start, **lbfgs):
    """``(W, b, optimizer, closure)``: the readout as ``dtype`` tensors from ``(W_start, b_start)``, an L-BFGS
    (strong-Wolfe line search, options ``lbfgs``) over them and its closure (the objective, its gradient in
    ``W.grad``, ``b.grad``)."""
    Xt, yt, wt = torch.from_numpy(X).to(dtype), torch.from_numpy(y), torch.from_numpy(w).to(dtype)
    W0t, b0t = torch.as_tensor(W0, dtype=dtype), torch.as_tensor(b0, dtype=dtype)
    W = torch.as_tensor(np.asarray(W_start), dtype=dtype).clone().requires_grad_(True)
    b = torch.as_tensor(np.asarray(b_start), dtype=dtype).clone().requires_grad_(True)
    opt = torch.optim.LBFGS([W, b], lr=1.0, tolerance_change=0.0, history_size=HISTORY, line_search_fn="strong_wolfe",
                            **lbfgs)

    def closure():
        opt.zero_grad()
        f = objective(W, b, Xt, yt, wt, W0t, b0t, temperature, lam)
        f.backward()
        return f

    return W, b, opt, closure
