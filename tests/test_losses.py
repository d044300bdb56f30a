import math

import pytest
import torch

from moevae.errors import MoEVAEError
from moevae.losses import (
    ManagerLoss,
    VAELoss,
    gaussian_nll,
    sigmoid_gaussian_nll,
    standard_normal_kl,
)


def seed_formulas(probs, x, experts, weight):
    """The seed's loss written out by hand, one sample at a time."""
    batch, count = probs.shape
    table = torch.zeros(batch, count, dtype=torch.float64)
    for k, (x_pred, z_mu, z_var) in enumerate(experts):
        for b in range(batch):
            nll = sum(0.5 * ((x[b, d] - x_pred[b, d]) / 0.5) ** 2
                      + math.log(0.5) + 0.5 * math.log(2 * math.pi)
                      for d in range(x.shape[1]))
            kl = sum(0.5 * (z_var[b, j] + z_mu[b, j] ** 2 - 1
                            - math.log(z_var[b, j]))
                     for j in range(z_mu.shape[1]))
            table[b, k] = nll + kl
    expected = (table * probs).sum(1).mean()
    importance = probs.sum(0)
    balancing = ((importance - importance.mean()) ** 2).mean()
    return expected + weight * balancing, expected, balancing


@pytest.fixture
def case():
    generator = torch.Generator().manual_seed(0)
    x = torch.rand(4, 5, generator=generator, dtype=torch.float64)
    probs = torch.softmax(torch.randn(4, 3, generator=generator,
                                      dtype=torch.float64), dim=1)
    experts = [(torch.rand(4, 5, generator=generator, dtype=torch.float64),
                torch.randn(4, 2, generator=generator, dtype=torch.float64),
                torch.rand(4, 2, generator=generator, dtype=torch.float64)
                + 0.1) for _ in range(3)]
    return x, probs, experts


def test_per_expert_path_matches_hand_computation(case):
    x, probs, experts = case
    loss = ManagerLoss(balancing_weight=0.1)
    loss.layer_outputs = {"experts_results": [
        (pred, {"z_mu": mu, "z_var": var}) for pred, mu, var in experts]}
    value, parts = loss(probs, x)
    total, expected, balancing = seed_formulas(probs, x, experts, 0.1)
    torch.testing.assert_close(value, total)
    torch.testing.assert_close(parts["expected_expert_loss"], expected)
    torch.testing.assert_close(parts["balancing_loss"], balancing)


def test_stacked_paths_match_hand_computation(case):
    x, probs, experts = case
    stacked = {name: torch.stack([e[i] for e in experts])
               for i, name in enumerate(["x_pred", "z_mu", "z_var"])}
    loss = ManagerLoss(balancing_weight=0.1)
    loss.layer_outputs = stacked
    total = seed_formulas(probs, x, experts, 0.1)[0]
    torch.testing.assert_close(loss(probs, x)[0], total.float(),
                               check_dtype=False)
    logits = torch.logit(stacked["x_pred"])
    loss.layer_outputs = dict(stacked, logits=logits)
    torch.testing.assert_close(loss(probs, x)[0], total.float(),
                               check_dtype=False)


def test_fused_nll_gradient_matches_autograd():
    logits = torch.randn(3, 4, 6, dtype=torch.float64, requires_grad=True)
    x = torch.rand(4, 6, dtype=torch.float64)
    weights = torch.rand(3, 4, dtype=torch.float64)
    (sigmoid_gaussian_nll(logits, x) * weights).sum().backward()
    fused_grad = logits.grad.clone()
    logits.grad = None
    (gaussian_nll(torch.sigmoid(logits), x) * weights).sum().backward()
    torch.testing.assert_close(fused_grad, logits.grad)


def test_fused_nll_backward_can_run_twice_with_retain_graph():
    logits = torch.randn(3, 4, 6, dtype=torch.float64, requires_grad=True)
    total = sigmoid_gaussian_nll(logits, torch.rand(4, 6,
                                                    dtype=torch.float64))
    total = (total * torch.rand(3, 4, dtype=torch.float64)).sum()
    first, = torch.autograd.grad(total, logits, retain_graph=True)
    second, = torch.autograd.grad(total, logits)
    torch.testing.assert_close(first, second, rtol=0, atol=0)


def test_vae_loss_with_distributions_and_kl():
    mu, var = torch.randn(3, 2), torch.rand(3, 2) + 0.5
    loss = VAELoss(use_distributions=False)
    loss.layer_outputs = {"z_mu": mu, "z_var": var}
    x_pred, x = torch.rand(3, 4), torch.rand(3, 4)
    value, parts = loss(x_pred, x)
    torch.testing.assert_close(parts["kl_loss"][:, 0],
                               standard_normal_kl(mu, var))
    torch.testing.assert_close(parts["ll_loss"][:, 0], gaussian_nll(x_pred, x))
    assert value.shape == (3, 1)


def test_missing_layer_outputs_is_clear():
    with pytest.raises(MoEVAEError, match="layer_outputs is None"):
        ManagerLoss()(torch.ones(2, 2), torch.ones(2, 3))


def test_per_expert_loss_skips_torch_argument_checks(monkeypatch):
    """Each check is a host sync on CUDA (about 50 a step)."""
    from moevae.models import build_manager
    checks = []
    original = torch.distributions.Distribution._validate_sample
    monkeypatch.setattr(torch.distributions.Distribution, "_validate_sample",
                        lambda self, value: checks.append(1) or
                        original(self, value))
    torch.manual_seed(0)
    model = build_manager()
    x = torch.rand(8, 784)
    probs, layer_outputs = model(x)
    loss = ManagerLoss()
    loss.layer_outputs = layer_outputs
    loss(probs, x)
    assert checks == []
