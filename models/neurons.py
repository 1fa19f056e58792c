"""The SAST leaky integrate-and-fire neuron as pure step functions over NamedTuple state (DESIGN.md §6).

    u[t] = tau · u[t-1] · (1 − s[t-1]) + i[t]          (hard reset by the previous step's spike)
    s[t] = f(u[t] − theta)

``f`` is chosen by one argument, ``mode``:

* ``"surrogate"`` — ``sigmoid(beta · x)`` in the forward *and* backward pass (SAST's surrogate-forward
  network: the loss is smooth and its gradient exact, which is what SAM needs);
* ``"hard"`` — Heaviside ``x ≥ 0`` (deployment; no gradient);
* ``"sg"`` — Heaviside forward, the sigmoid's derivative backward (the conventional surrogate-gradient
  baseline).

"Swap-only" evaluation changes only ``mode`` on the same weights, tau, theta and reset. The threshold
compares ``u ≥ theta`` (spike at equality), as the integer simulator does.
"""

from __future__ import annotations

from typing import NamedTuple

import torch

from models.config import LIFParameters

SPIKE_MODES = ("surrogate", "hard", "sg")


class LIFState(NamedTuple):
    """Membrane potential ``u`` and last spike ``s``, each shaped like the layer's output (B, C, H, W)."""

    u: torch.Tensor
    s: torch.Tensor


class _HeavisideSG(torch.autograd.Function):
    """Heaviside forward; d/dx sigmoid(beta·x) backward."""

    @staticmethod
    def forward(ctx, x, beta):
        ctx.save_for_backward(x)
        ctx.beta = beta
        return (x >= 0).to(x.dtype)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        sig = torch.sigmoid(ctx.beta * x)
        return grad * ctx.beta * sig * (1 - sig), None


def spike_fn(x: torch.Tensor, mode: str, beta: float) -> torch.Tensor:
    """The spike nonlinearity ``f`` applied to ``x = u − theta``."""
    if mode == "surrogate":
        return torch.sigmoid(beta * x)
    if mode == "hard":
        return (x >= 0).to(x.dtype)
    if mode == "sg":
        return _HeavisideSG.apply(x, beta)
    raise ValueError(f"spike mode must be one of {SPIKE_MODES}, got {mode!r}")


def initial_state(like: torch.Tensor) -> LIFState:
    """Fresh state (u = 0, no previous spike) shaped like ``like``; new for every sample and SAM pass."""
    return LIFState(torch.zeros_like(like), torch.zeros_like(like))


def lif_step(i_in: torch.Tensor, state: LIFState, p: LIFParameters, mode: str) -> tuple[torch.Tensor, LIFState]:
    """One time step: input current ``i_in`` (B, …) → spikes (B, …) and the new state."""
    u = p.tau * state.u * (1 - state.s) + i_in
    s = spike_fn(u - p.theta, mode, p.beta)
    return s, LIFState(u, s)
