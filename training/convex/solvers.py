"""l1-regularised convex readouts over a fixed feature dictionary, with duality-gap certificates.

The problem (``D`` the dictionary (n, P), ``W`` the readout (P, C), ``y`` class indices (n,)):

    minimise   F(W) = (1/n) Σ_i ℓ(D_i W, y_i) + rho ‖W‖₁          (no bias: the deployed readout has none)

with ``ℓ`` one of

* ``"ce"``      — multinomial cross-entropy ``logsumexp(z) − z_y``;
* ``"hinge"``   — one-vs-rest l1 hinge ``Σ_c max(0, 1 − ỹ_c z_c)``, ``ỹ_c = +1`` for the true class, −1 else;
* ``"squared"`` — ``½ ‖z − onehot(y)‖²``.

Solved by FISTA (accelerated proximal gradient: the prox of ``rho‖·‖₁`` is soft thresholding) with
backtracking on the step and O'Donoghue–Candès gradient restarts. The hinge is not differentiable, so it is
solved as a sequence of Nesterov-smoothed hinges (smoothing width ``mu`` divided by 10 until the certificate
of the *exact* hinge problem is met) — proximal gradient on the smoothed loss instead of ISTA on subgradients,
which converges far faster and gives dual points for free.

**Certificate.** For any ``Θ`` (n, C) with ``‖Dᵀ Θ‖_∞ ≤ rho`` (elementwise), weak Fenchel duality gives
``F(W) ≥ −f*(Θ)``, ``f(Z) = (1/n) Σ ℓ(z_i, y_i)``. The dual point is the loss gradient ``∇f(D W)`` scaled
into the constraint set; at the optimum no scaling is needed and the gap ``F(W) + f*(Θ)`` is zero. The gap
is computed in float64 (the iterations run in the dictionary's float32), so a reported gap is a proof:
``F(W) − F(W*) ≤ gap``.

**Rows in several processes.** Every function that sums over the dictionary's rows takes ``rows``
(:class:`training.convex.shards.Rows`): with a share of the rows in each process of a torch.distributed group,
each sums its own and an all-reduce adds them, so every process takes the same steps (each decision is made on
summed values) and holds the same readout. Without it the rows are all here.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import numpy as np
import torch

from sast_live.errors import SastLiveError
from training.convex.config import LOSSES
from training.convex.shards import Rows

#: rows of the dictionary handled at once in the float64 certificate pass (bounds its extra memory)
CERT_CHUNK = 8192


@dataclass
class Solution:
    """One solved problem. ``W`` (P, C) float64; objective values are per sample (the 1/n mean) + penalty."""

    W: np.ndarray
    rho: float
    primal: float
    dual: float
    iterations: int
    seconds: float
    history: list[tuple[int, float, float]] = field(default_factory=list)  # (iteration, primal, gap)

    @property
    def gap(self) -> float:
        return self.primal - self.dual

    @property
    def rel_gap(self) -> float:
        return self.gap / max(abs(self.primal), 1e-12)

    @property
    def active(self) -> np.ndarray:
        """Features with a nonzero readout row (the neurons the reconstructed network keeps), bool (P,)."""
        return np.any(self.W != 0, axis=1)


# --- losses: value, gradient and conjugate, each on the (n, C) scores Z -----------------------------------

def _targets(y: torch.Tensor, n_classes: int, dtype) -> torch.Tensor:
    return torch.nn.functional.one_hot(y, n_classes).to(dtype)


def _mean(per_row: torch.Tensor, rows: Rows | None) -> torch.Tensor:
    """The mean of a per-row value over every row, in every process (``rows``) or here."""
    if rows is None or not rows.split:
        return per_row.mean()
    return rows.sum(per_row.sum().reshape(1))[0] / rows.n


def loss_value(Z: torch.Tensor, Y: torch.Tensor, loss: str, mu: float = 0.0, rows: Rows | None = None
               ) -> torch.Tensor:
    """Mean loss over the n rows; ``Y`` one-hot (n, C); ``mu > 0`` smooths the hinge (Huber form)."""
    if loss == "ce":
        return _mean(torch.logsumexp(Z, 1) - (Z * Y).sum(1), rows)
    if loss == "squared":
        return _mean(0.5 * ((Z - Y) ** 2).sum(1), rows)
    m = (2 * Y - 1) * Z  # margins ỹ·z
    if mu == 0:
        return _mean(torch.clamp(1 - m, min=0).sum(1), rows)
    r = 1 - m
    quad = torch.where(r <= mu, r.clamp(min=0) ** 2 / (2 * mu), r - mu / 2)
    return _mean(quad.sum(1), rows)


def loss_grad(Z: torch.Tensor, Y: torch.Tensor, loss: str, mu: float = 0.0, n: int | None = None) -> torch.Tensor:
    """∇f(Z) of the mean loss (already divided by n: ``Z``'s rows, or ``n`` in all processes together). For the
    exact hinge (``mu = 0``) a subgradient."""
    n = Z.shape[0] if n is None else n
    if loss == "ce":
        return (torch.softmax(Z, 1) - Y) / n
    if loss == "squared":
        return (Z - Y) / n
    sgn = 2 * Y - 1
    r = 1 - sgn * Z
    alpha = (r > 0).to(Z.dtype) if mu == 0 else torch.clamp(r / mu, 0, 1)
    return -sgn * alpha / n


def dual_value(G: torch.Tensor, Y: torch.Tensor, loss: str, rows: Rows | None = None) -> float:
    """``−f*(G)`` for a feasible dual point ``G`` (a scaled loss gradient, (n, C))."""
    n = G.shape[0] if rows is None else rows.n
    V = n * G  # per-sample conjugate argument
    if loss == "ce":
        Q = (V + Y).clamp(min=0)  # a distribution per row: s·p + (1 − s)·e_y
        return float(_mean(-(torch.special.xlogy(Q, Q).sum(1)), rows))
    if loss == "squared":
        return float(_mean(-(0.5 * (V ** 2).sum(1) + (V * Y).sum(1)), rows))
    alpha = -(2 * Y - 1) * V  # in [0, 1] by construction
    return float(_mean(alpha.sum(1), rows))


# --- the solver ------------------------------------------------------------------------------------------

def _t_matmul(D: torch.Tensor, G: torch.Tensor, rows: Rows | None = None) -> torch.Tensor:
    """``Dᵀ @ G`` for a thin ``G``: as ``(Gᵀ D)ᵀ``, which walks the row-major D in order (10× faster on CPU);
    summed over the processes' rows."""
    out = (G.T @ D).T
    return out if rows is None else rows.sum(out.contiguous())


def _matmul64(D: torch.Tensor, W: torch.Tensor) -> torch.Tensor:
    """``D @ W`` in float64, D cast in row chunks (no float64 copy of the whole dictionary)."""
    return torch.cat([D[i:i + CERT_CHUNK].double() @ W for i in range(0, D.shape[0], CERT_CHUNK)])


def _t_matmul64(D: torch.Tensor, G: torch.Tensor, rows: Rows | None = None) -> torch.Tensor:
    """``Dᵀ @ G`` in float64, chunked like :func:`_matmul64`; summed over the processes' rows."""
    out = torch.zeros(D.shape[1], G.shape[1], dtype=torch.float64)
    for i in range(0, D.shape[0], CERT_CHUNK):
        out += (G[i:i + CERT_CHUNK].T @ D[i:i + CERT_CHUNK].double()).T
    return out if rows is None else rows.sum(out)


def certificate(D: torch.Tensor, Y: torch.Tensor, W: torch.Tensor, rho: float, loss: str,
                mu: float = 0.0, Z: torch.Tensor | None = None, rows: Rows | None = None
                ) -> tuple[float, float, float]:
    """``(primal, dual, smoothed gap)`` of the exact problem at ``W``, in float64; ``Z = D @ W`` when the
    caller already has it in float64.

    The dual point is the gradient of the loss (smoothed by ``mu`` for the hinge, which is still a valid
    exact-hinge dual point) scaled into ``‖DᵀΘ‖_∞ ≤ rho``. The third value is the gap of the *smoothed*
    problem (equal to the exact gap when ``mu = 0``): the smoothed hinge's conjugate adds ``(mu/2)‖α‖²``.
    """
    W64 = W.double()
    Y64 = Y.double()
    Z = _matmul64(D, W64) if Z is None else Z
    penalty = rho * float(W64.abs().sum())
    n = None if rows is None else rows.n
    primal = float(loss_value(Z, Y64, loss, rows=rows)) + penalty

    def feasible(G):  # with rows, every process must join the all-reduce, whatever its share
        worst = float(_t_matmul64(D, G, rows).abs().max()) if G.numel() or rows is not None else 0.0
        return G * (1.0 if worst <= rho else rho / worst)

    G = feasible(loss_grad(Z, Y64, loss, mu, n))
    dual = dual_value(G, Y64, loss, rows)
    if loss != "hinge" or mu == 0:
        return primal, dual, primal - dual
    alpha = G * (G.shape[0] if n is None else n)
    smoothed_primal = float(loss_value(Z, Y64, loss, mu, rows)) + penalty
    smoothed_gap = smoothed_primal - (dual - 0.5 * mu * float(_mean((alpha * alpha).sum(1), rows)))
    # a narrow smoothing's near-binary α is a poor exact dual point; wider ones are valid too: keep the best
    for wider in (10 * mu, 100 * mu):
        dual = max(dual, dual_value(feasible(loss_grad(Z, Y64, loss, wider, n)), Y64, loss, rows))
    return primal, dual, smoothed_gap


def max_rho(D: torch.Tensor, y: torch.Tensor, n_classes: int, loss: str, rows: Rows | None = None) -> float:
    """The smallest ``rho`` at which ``W = 0`` is optimal: ``‖Dᵀ∇f(0)‖_∞`` (the top of a regularisation path)."""
    Y = _targets(y, n_classes, torch.float64)
    G = loss_grad(torch.zeros_like(Y), Y, loss, mu=1.0 if loss == "hinge" else 0.0, n=None if rows is None else rows.n)
    return float(_t_matmul64(D, G, rows).abs().max())


def lipschitz(D: torch.Tensor, loss: str, iters: int = 40, seed: int = 0, rows: Rows | None = None) -> float:
    """Lipschitz constant of ∇(f∘D) for the mean loss: ``c·σ_max(D)²/n`` by power iteration (c = ½ for the
    softmax, whose Hessian is at most ½·I; 1 for the squared loss and a smoothed hinge of width 1)."""
    gen = torch.Generator().manual_seed(seed)
    v = torch.randn(D.shape[1], 1, generator=gen, dtype=D.dtype)
    sigma2 = 0.0
    for _ in range(iters):
        v = _t_matmul(D, D @ v, rows)
        sigma2 = float(v.norm())
        if sigma2 == 0:
            return 1e-12
        v /= sigma2
    return (0.5 if loss == "ce" else 1.0) * sigma2 / (D.shape[0] if rows is None else rows.n)


def solve(D: torch.Tensor, y: torch.Tensor, n_classes: int, rho: float, loss: str = "ce",
          W0: np.ndarray | None = None, tol: float = 1e-4, max_iter: int = 5000, check_every: int = 10,
          L0: float | None = None, rows: Rows | None = None) -> Solution:
    """Minimise ``F(W)`` to a relative duality gap ``tol`` (or ``max_iter`` proximal steps).

    Args:
        D: (n, P) float features (float32 is enough; the certificate is float64).
        y: (n,) int64 class indices in ``0..n_classes-1``.
        rho: the l1 weight (``beta / sqrt(P)`` in the reconstruction); ``rho ≥ 0``.
        W0: a warm start (P, C), e.g. the solution at the previous rho of a path.
        L0: the Lipschitz estimate of :func:`lipschitz` (computed when not given; a path shares it).
        rows: ``D``'s rows as a share of a dictionary split across processes (module docstring).
    """
    if loss not in LOSSES:
        raise SastLiveError(f"loss must be one of {LOSSES}, got {loss!r}")
    if rho < 0 or not math.isfinite(rho):
        raise SastLiveError(f"rho must be a finite number ≥ 0, got {rho}")
    n, P = D.shape
    if n == 0 or P == 0:
        raise SastLiveError(f"the dictionary is empty ({n} samples × {P} features)")
    if y.shape != (n,) or int(y.min()) < 0 or int(y.max()) >= n_classes:
        raise SastLiveError(f"labels must be (n,) = ({n},) class indices below {n_classes}")
    t0 = time.perf_counter()
    Y = _targets(y, n_classes, D.dtype)
    L_base = L0 if L0 is not None else lipschitz(D, loss, rows=rows)
    n_all = None if rows is None else rows.n
    x = torch.zeros(P, n_classes, dtype=D.dtype) if W0 is None else torch.as_tensor(W0, dtype=D.dtype).clone()
    history: list[tuple[int, float, float]] = []
    total = 0
    # the hinge: smoothing widths 1, 0.1, … until the exact problem's certificate holds
    mus = [1.0 * 10.0 ** -k for k in range(0, 7)] if loss == "hinge" else [0.0]
    primal = dual = math.nan
    # rounding allowance of the bound check: a looser one would accept ever longer steps once f stops moving
    slack = 64 * torch.finfo(D.dtype).eps
    for mu in mus:
        L = L_base / mu if mu > 0 else L_base
        Zx = D @ x
        y_, Zy, t = x.clone(), Zx.clone(), 1.0
        fy = float(loss_value(Zy, Y, loss, mu, rows))
        done = False
        budget = max_iter - total
        for k in range(1, budget + 1):
            g = _t_matmul(D, loss_grad(Zy, Y, loss, mu, n_all), rows)
            if mu == 0:  # try a longer step each time: the loss is often much flatter than its global bound
                L *= 0.9  # (not for the smoothed hinge, whose curvature 1/mu is reached at the margins)
            while True:  # backtracking: the quadratic model must bound f at the new point
                step = y_ - g / L
                x_new = torch.sign(step) * torch.clamp(step.abs() - rho / L, min=0)
                Z_new = D @ x_new
                f_new = float(loss_value(Z_new, Y, loss, mu, rows))
                diff = x_new - y_
                bound = fy + float((g * diff).sum()) + 0.5 * L * float((diff * diff).sum())
                if f_new <= bound + slack * max(1.0, abs(bound)):
                    break
                L *= 2.0
            # restart the momentum when it points uphill (O'Donoghue & Candès)
            if float(((y_ - x_new) * (x_new - x)).sum()) > 0:
                t = 1.0
            t_new = (1 + math.sqrt(1 + 4 * t * t)) / 2
            m = (t - 1) / t_new
            y_ = x_new + m * (x_new - x)
            Zy = Z_new + m * (Z_new - Zx)  # D is linear: no extra product
            x, Zx, t = x_new, Z_new, t_new
            fy = float(loss_value(Zy, Y, loss, mu, rows))
            total += 1
            if k % check_every == 0 or k == budget:
                # the iterate's scores are reused when they are already float64 (the reconstruction's case)
                primal, new_dual, smoothed_gap = certificate(D, Y, x, rho, loss, mu,
                                                             Zx if Zx.dtype == torch.float64 else None, rows)
                dual = new_dual if math.isnan(dual) else max(dual, new_dual)  # every dual value is a lower bound
                history.append((total, primal, primal - dual))
                enough = tol * max(abs(primal), 1e-12)
                if primal - dual <= enough:
                    done = True
                    break
                # this smoothing is solved as far as it is worth (its own error is up to mu/2 per margin):
                # narrow it
                if smoothed_gap <= max(0.1 * enough, 0.05 * mu):
                    break
        if done or total >= max_iter:
            break
    return Solution(x.double().numpy(), rho, primal, dual, total, time.perf_counter() - t0, history)


def solve_path(D: torch.Tensor, y: torch.Tensor, n_classes: int, rhos, loss: str = "ce", tol: float = 1e-4,
               max_iter: int = 5000, progress: bool = False, rows: Rows | None = None) -> list[Solution]:
    """Solutions for each rho, largest first, each warm-started from the previous (a regularisation path)."""
    from tqdm import tqdm

    L = lipschitz(D, loss, rows=rows)
    out, W = [], None
    for rho in tqdm(sorted(rhos, reverse=True), desc=f"convex readout ({loss})", disable=not progress):
        sol = solve(D, y, n_classes, rho, loss, W0=W, tol=tol, max_iter=max_iter, L0=L, rows=rows)
        out.append(sol)
        W = sol.W
    return out


def cvx_reference(D: np.ndarray, y: np.ndarray, n_classes: int, rho: float, loss: str) -> tuple[np.ndarray, float]:
    """The same problem solved by cvxpy (CLARABEL): ``(W, optimal value)``, for cross-checks on small problems."""
    import cvxpy as cp

    n, P = D.shape
    Y = np.eye(n_classes)[y]
    W = cp.Variable((P, n_classes))
    Z = D @ W
    if loss == "ce":
        data = cp.sum(cp.log_sum_exp(Z, axis=1)) - cp.sum(cp.multiply(Z, Y))
    elif loss == "squared":
        data = 0.5 * cp.sum_squares(Z - Y)
    else:
        data = cp.sum(cp.pos(1 - cp.multiply(2 * Y - 1, Z)))
    prob = cp.Problem(cp.Minimize(data / n + rho * cp.sum(cp.abs(W))))
    prob.solve(solver=cp.CLARABEL)
    return W.value, float(prob.value)
