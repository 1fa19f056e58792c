"""The sequence network of the convex reconstruction: parallel LIF branches (Udupi, Yang, Zhai; after Ergen et al.,
ICLR 2023).

``K`` independent branches, each a chain of fully connected LIF layers of widths ``widths`` (the last one
usually 1); no recurrent weight matrices — the only recurrence is each neuron's leak and reset, the SAST LIF
of :mod:`models.neurons`. The last layer's features of all branches are concatenated (``P = K·widths[-1]``)
and read out linearly without bias:

* ``features="spike"``    — the spike ``s[t]`` of each last-layer neuron;
* ``features="membrane"`` — its membrane ``u[t]`` (before the reset the spike causes at the next step);
* ``features="count"``    — its spike count up to and including ``t`` (our extension).

``per_step=False`` reads out at the last step only (sequence classification); ``per_step=True`` at every step
(per-step tasks such as addition). Inputs are time-first ``(T, B, n_in)``. A ``feedback`` network (the
autoregressive tasks) also takes its previous step's output token as input: the true one in training, its own in
:meth:`ParallelLIFNet.generate`.
"""

from __future__ import annotations

import torch
from torch import nn

from models.config import ParallelConfig
from models.neurons import initial_state, lif_step


class ParallelLIFNet(nn.Module):
    """Branch weights ``layers[l]``: (K, widths[l], widths[l-1]) (``widths[-1] = n_in`` for the first);
    readout (n_classes, P). The dynamics are :func:`models.neurons.lif_step`."""

    def __init__(self, cfg: ParallelConfig):
        super().__init__()
        self.cfg = cfg
        fan_in = (cfg.n_in, *cfg.widths[:-1])
        self.layers = nn.ParameterList(
            [nn.Parameter(torch.randn(cfg.branches, m, k) / k ** 0.5) for m, k in zip(cfg.widths, fan_in, strict=True)])
        self.readout = nn.Linear(cfg.n_features, cfg.n_classes, bias=False)

    def features(self, x: torch.Tensor, mode: str = "hard", record: bool = False, rates: bool = False,
                 last: bool = False):
        """x (T, B, n_in) → features (T, B, P) of the last layer at every step (``last``: only the last step's,
        (1, B, P), in the memory of one step); with ``record``, also every layer's spikes, a list of
        (T, B, K, width); with ``rates``, only every layer's mean spike rate (a list of floats: what calibrating a
        witness needs, in the memory of one step instead of T)."""
        self._check(x)
        states = [None] * len(self.layers)
        feats, spikes = [], [[] for _ in self.layers]
        totals = [0.0] * len(self.layers)
        count = None
        for t in range(x.shape[0]):
            f, count = self._step(x[t], states, count, mode, spikes if record else None, totals if rates else None)
            if rates:
                continue
            if last:
                feats.clear()  # only the final step's features are kept
            feats.append(f)
        if rates:
            return [total / x.shape[0] for total in totals]
        out = torch.stack(feats)
        if record:
            return out, [torch.stack(layer) for layer in spikes]
        return out

    def _check(self, x: torch.Tensor) -> None:
        if x.dim() != 3 or x.shape[2] != self.cfg.n_in:
            raise ValueError(f"input must be (T, B, {self.cfg.n_in}), got {tuple(x.shape)}")

    def _step(self, s: torch.Tensor, states: list, count, mode: str, spikes: list | None = None,
              totals: list | None = None):
        """One step: input s (B, n_in) through every layer; ``states`` (one per layer, None before the first
        step) are updated in place. Returns the last layer's features (B, P) and the running spike count (the
        ``count`` features' state). ``spikes``/``totals``: per layer, the step's spikes appended / their mean
        rate added."""
        p = self.cfg.neuron
        K = self.cfg.branches
        for k, w in enumerate(self.layers):
            if k == 0:  # every branch sees the same input: one (B, n_in) × (n_in, K·m) product
                i_in = (s @ w.reshape(-1, w.shape[2]).T).reshape(s.shape[0], K, w.shape[1])
            else:  # branch by branch, (B, K, 1, m') · (K, m, m') summed over m': with branches of a few
                # neurons this is 4× faster (forward + backward) than a batch of K tiny matrix products
                i_in = (s.unsqueeze(2) * w).sum(-1)
            if states[k] is None:
                states[k] = initial_state(i_in)  # fresh state on every forward pass
            s, states[k] = lif_step(i_in, states[k], p, mode)
            if spikes is not None:
                spikes[k].append(s)
            if totals is not None:
                totals[k] += float(s.sum()) / s.numel()
        if self.cfg.features == "spike":
            f = s
        elif self.cfg.features == "membrane":
            f = states[-1].u
        else:
            count = s if count is None else count + s
            f = count
        return f.flatten(1), count

    def generate(self, x: torch.Tensor, mode: str = "hard") -> torch.Tensor:
        """Autoregressive run of a ``feedback`` network: x (T, B, n_in) → logits (T, B, n_classes), where the
        feedback channels of ``x`` are ignored and step t is given instead the one-hot of the network's own
        argmax at step t − 1 (zeros at step 0) — how it runs deployed, where no true previous token exists."""
        n = self.cfg.feedback
        if not n:
            raise ValueError("generate needs a network trained with feedback of its previous output")
        self._check(x)
        lo = self.cfg.n_in - 1 - n
        states, count = [None] * len(self.layers), None
        previous = torch.zeros(x.shape[1], n, dtype=x.dtype)
        logits = []
        for t in range(x.shape[0]):
            step = torch.cat([x[t, :, :lo], previous, x[t, :, lo + n:]], dim=1)
            f, count = self._step(step, states, count, mode)
            logits.append(self.readout(f))
            previous = torch.nn.functional.one_hot(logits[-1].argmax(-1), n).to(x.dtype)
        return torch.stack(logits)

    def forward(self, x: torch.Tensor, mode: str = "hard") -> torch.Tensor:
        """x (T, B, n_in) → logits (B, n_classes), or (T, B, n_classes) when ``per_step``."""
        f = self.features(x, mode, last=not self.cfg.per_step)
        return self.readout(f if self.cfg.per_step else f[-1])


def build_parallel(cfg: ParallelConfig | dict) -> ParallelLIFNet:
    return ParallelLIFNet(cfg if isinstance(cfg, ParallelConfig) else ParallelConfig.from_dict(cfg))
