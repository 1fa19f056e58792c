"""Sharpness-Aware Minimization as a small optimizer wrapper (after davda54/sam), and SAST's use of it.

SAM minimises ``max_{‖ε‖ ≤ rho} L(w + ε)``: the first pass's gradient ``g`` gives the ascent
``ε = rho · g / ‖g‖`` (adaptive SAM scales each coordinate by ``w²``: ``ε = rho · w² g / ‖w g‖``), the
second pass's gradient at ``w + ε`` is applied at ``w`` by the base optimizer.

SAST = SAM on the surrogate-forward loss: both passes run the network with ``mode="surrogate"`` and each
pass starts from fresh neuron state (the networks create it inside ``forward``). With DDP each backward is
all-reduced, so both SAM passes see the global gradient.
"""

from __future__ import annotations

import torch


class SAM(torch.optim.Optimizer):
    """``first_step`` climbs to ``w + ε``; ``second_step`` returns to ``w`` and applies the base step."""

    def __init__(self, params, base_optimizer: type[torch.optim.Optimizer], rho: float = 0.05,
                 adaptive: bool = False, **kwargs):
        if rho < 0:
            raise ValueError(f"rho must be ≥ 0, got {rho}")
        super().__init__(params, dict(rho=rho, adaptive=adaptive, **kwargs))
        self.base_optimizer = base_optimizer(self.param_groups, **kwargs)
        self.param_groups = self.base_optimizer.param_groups
        self.defaults.update(self.base_optimizer.defaults)

    @torch.no_grad()
    def _grad_norm(self) -> torch.Tensor:
        norms = [((torch.abs(p) if g["adaptive"] else 1.0) * p.grad).norm(p=2)
                 for g in self.param_groups for p in g["params"] if p.grad is not None]
        if not norms:
            return torch.tensor(0.0)
        return torch.stack(norms).norm(p=2)

    @torch.no_grad()
    def first_step(self, zero_grad: bool = True) -> None:
        """w ← w + ε(w) from the current gradients."""
        norm = self._grad_norm()
        for g in self.param_groups:
            scale = g["rho"] / (norm + 1e-12)
            for p in g["params"]:
                if p.grad is None:
                    continue
                e_w = (torch.pow(p, 2) if g["adaptive"] else 1.0) * p.grad * scale.to(p)
                p.add_(e_w)
                self.state[p]["e_w"] = e_w
        if zero_grad:
            self.zero_grad()

    @torch.no_grad()
    def second_step(self, zero_grad: bool = True) -> None:
        """w ← w − ε, then the base optimizer's step with the gradients taken at w + ε."""
        for g in self.param_groups:
            for p in g["params"]:
                if "e_w" in self.state[p]:
                    p.sub_(self.state[p].pop("e_w"))
        self.base_optimizer.step()
        if zero_grad:
            self.zero_grad()

    def step(self, closure=None):
        """Both steps with a closure that recomputes the loss and its gradients (for generic loops)."""
        if closure is None:
            raise ValueError("SAM.step needs a closure; or call first_step/second_step yourself")
        self.first_step(zero_grad=True)
        with torch.enable_grad():
            closure()
        self.second_step()

    def load_state_dict(self, state_dict):
        super().load_state_dict(state_dict)
        self.base_optimizer.param_groups = self.param_groups
