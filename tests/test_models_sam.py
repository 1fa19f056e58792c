"""LIF golden traces, the swap-only contract, and SAM against a hand computation."""

from __future__ import annotations

import pytest
import torch

from models.config import LIFParameters, SNNConfig, gesture_config, nmnist_config
from models.networks import build_model, model_summary
from models.neurons import initial_state, lif_step, spike_fn
from training.sam import SAM


def test_lif_golden_trace_hard():
    p = LIFParameters(tau=0.5, theta=1.0, beta=5.0)
    inputs = [0.6, 0.6, 0.6, 0.0, 1.2]
    state = initial_state(torch.zeros(1))
    us, ss = [], []
    for i in inputs:
        s, state = lif_step(torch.tensor([i]), state, p, "hard")
        us.append(round(state.u.item(), 6))
        ss.append(s.item())
    # u1 = .6; u2 = .5*.6+.6 = .9; u3 = .5*.9+.6 = 1.05 -> spike; u4 = 0 (reset) + 0; u5 = 1.2 -> spike
    assert us == [0.6, 0.9, 1.05, 0.0, 1.2]
    assert ss == [0.0, 0.0, 1.0, 0.0, 1.0]


def test_lif_input_after_a_spike_is_not_reset():
    """The reset multiplies the leaked membrane only: the step after a spike still adds its whole input."""
    p = LIFParameters(tau=0.5, theta=1.0, beta=5.0)
    state = initial_state(torch.zeros(1))
    us = []
    for i in (1.5, 0.3, 0.4):
        _, state = lif_step(torch.tensor([i]), state, p, "hard")
        us.append(round(state.u.item(), 6))
    assert us == [1.5, 0.3, 0.55]  # spike at 1.5; then 0·(reset) + 0.3; then 0.5·0.3 + 0.4


def test_surrogate_lif_gradient_is_exact_through_the_resets():
    """SAST relies on the surrogate-forward network's gradient being the exact gradient of its loss, resets
    included: float64 gradcheck of a 6-step, 3-neuron LIF whose soft spikes reset it."""
    p = LIFParameters(tau=0.7, theta=1.0, beta=3.0)

    def run(inputs, w):
        state = initial_state(inputs[0] @ w)
        out = []
        for x in inputs:
            s, state = lif_step(x @ w, state, p, "surrogate")
            out.append(s)
        return torch.stack(out)

    gen = torch.Generator().manual_seed(0)
    inputs = torch.rand(6, 2, 4, generator=gen, dtype=torch.float64) * 2
    w = (torch.rand(4, 3, generator=gen, dtype=torch.float64) * 1.2).requires_grad_()
    spikes = run(inputs, w)
    assert spikes.max() > 0.8  # neurons do fire, so the reset path carries gradient
    assert torch.autograd.gradcheck(lambda w: run(inputs, w), (w,), eps=1e-6, atol=1e-7)


def test_lif_golden_trace_surrogate_soft_reset():
    p = LIFParameters(tau=0.5, theta=1.0, beta=5.0)
    state = initial_state(torch.zeros(1))
    s1, state = lif_step(torch.tensor([1.0]), state, p, "surrogate")
    assert s1.item() == pytest.approx(0.5)  # sigmoid(0)
    s2, state = lif_step(torch.tensor([0.0]), state, p, "surrogate")
    assert state.u.item() == pytest.approx(0.5 * 1.0 * (1 - 0.5))  # reset scaled by the soft spike


def test_sg_is_hard_forward_with_sigmoid_gradient():
    x = torch.tensor([-0.3, 0.0, 0.4], requires_grad=True)
    y = spike_fn(x, "sg", 5.0)
    assert y.tolist() == spike_fn(x, "hard", 5.0).tolist() == [0.0, 1.0, 1.0]
    y.sum().backward()
    sig = torch.sigmoid(5.0 * x.detach())
    assert torch.allclose(x.grad, 5.0 * sig * (1 - sig))


def test_swap_only_changes_f():
    torch.manual_seed(0)
    model = build_model(nmnist_config())
    x = (torch.rand(6, 3, 2, 34, 34) < 0.2).float()
    a = model(x, "surrogate")
    b = model(x, "hard")
    assert not torch.allclose(a, b)
    # the same weights give the same outputs when the mode is the same: mode is the only switch
    assert torch.equal(model(x, "hard"), b)
    with pytest.raises(ValueError):
        model(x, "sigmoid")


def test_config_round_trip_and_sizes():
    for cfg in (nmnist_config(), gesture_config()):
        again = SNNConfig.from_dict(__import__("json").loads(__import__("json").dumps(cfg.to_dict())))
        assert again == cfg
        m = build_model(again)
        summary = model_summary(m)
        assert summary["int8_bytes"] < 40_000
    assert model_summary(build_model(nmnist_config()))["parameters"] == 29_976


@pytest.mark.parametrize("adaptive", [False, True])
def test_sam_step_matches_hand_computation(adaptive):
    """Loss L(w) = ½ wᵀ A w on two weights, SGD lr 0.1, rho 0.05."""
    A = torch.tensor([[3.0, 0.5], [0.5, 1.0]])
    w0 = torch.tensor([1.0, -2.0])
    w = torch.nn.Parameter(w0.clone())
    opt = SAM([w], torch.optim.SGD, rho=0.05, adaptive=adaptive, lr=0.1)
    (0.5 * w @ A @ w).backward()
    opt.first_step()
    (0.5 * w @ A @ w).backward()
    opt.second_step()
    g = A @ w0
    scale = w0**2 if adaptive else torch.ones(2)
    eps = 0.05 * scale * g / torch.linalg.norm((w0.abs() if adaptive else torch.ones(2)) * g)
    expect = w0 - 0.1 * (A @ (w0 + eps))
    assert torch.allclose(w.detach(), expect, atol=1e-6)


def test_sam_norm_is_taken_over_all_parameters():
    """Two weight tensors: ε = rho · g / ‖(g1, g2)‖, one norm over both (not one per tensor)."""
    w1 = torch.nn.Parameter(torch.tensor([1.0, 2.0]))
    w2 = torch.nn.Parameter(torch.tensor([[-1.0, 0.5, 3.0]]))
    opt = SAM([w1, w2], torch.optim.SGD, rho=0.1, lr=0.5)

    def loss():
        return (w1**2).sum() + 0.5 * (w2**2).sum()

    loss().backward()
    g1, g2 = w1.grad.clone(), w2.grad.clone()
    norm = torch.sqrt((g1**2).sum() + (g2**2).sum())
    opt.first_step()
    assert torch.allclose(w1.detach(), torch.tensor([1.0, 2.0]) + 0.1 * g1 / norm)
    assert torch.allclose(w2.detach(), torch.tensor([[-1.0, 0.5, 3.0]]) + 0.1 * g2 / norm)
    loss().backward()  # gradients at w + ε
    at1, at2 = w1.grad.clone(), w2.grad.clone()
    opt.second_step()
    assert torch.allclose(w1.detach(), torch.tensor([1.0, 2.0]) - 0.5 * at1)
    assert torch.allclose(w2.detach(), torch.tensor([[-1.0, 0.5, 3.0]]) - 0.5 * at2)


def test_sam_with_rho_zero_is_the_base_optimizer():
    torch.manual_seed(1)
    a = torch.nn.Linear(4, 2)
    b = torch.nn.Linear(4, 2)
    b.load_state_dict(a.state_dict())
    x, y = torch.randn(8, 4), torch.randn(8, 2)
    sam = SAM(a.parameters(), torch.optim.Adam, rho=0.0, lr=1e-2)
    adam = torch.optim.Adam(b.parameters(), lr=1e-2)
    for _ in range(3):
        torch.nn.functional.mse_loss(a(x), y).backward()
        sam.first_step()
        torch.nn.functional.mse_loss(a(x), y).backward()
        sam.second_step()
        torch.nn.functional.mse_loss(b(x), y).backward()
        adam.step()
        adam.zero_grad()
    assert torch.allclose(a.weight, b.weight, atol=1e-7)
