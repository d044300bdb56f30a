"""The clustering losses: the EM objective and the warm-start anchor."""
import pytest
import torch

from moevae.clustering.losses import ResponsibilityLoss, WarmStartLoss
from moevae.losses import ManagerLoss


def _outputs(experts=3, batch=4, pixels=5):
    torch.manual_seed(0)
    return {"x_pred": torch.rand(experts, batch, pixels),
            "z_mu": torch.randn(experts, batch, 2),
            "z_var": torch.rand(experts, batch, 2) + 0.1}


@pytest.mark.parametrize("temperature", [1.0, 50.0])
def test_responsibility_loss_is_the_em_objective(temperature):
    loss = ResponsibilityLoss(balancing_weight=0.5, warm_epochs=0,
                              temperature=temperature)
    loss.layer_outputs = _outputs()
    x = torch.rand(4, 5)
    logits = torch.randn(4, 3, requires_grad=True)
    probs = torch.softmax(logits, 1)
    value, parts = loss(probs, x)
    per_expert = ManagerLoss.stacked_losses(loss.layer_outputs, x)
    posterior = probs.detach() * torch.exp(-per_expert / temperature)
    posterior = posterior / posterior.sum(1, keepdim=True)
    torch.testing.assert_close(parts["expected_expert_loss"],
                               (posterior * per_expert).sum(1).mean())
    torch.testing.assert_close(parts["gate_loss"],
                               -(posterior * probs.log()).sum(1).mean())
    torch.testing.assert_close(value, parts["expected_expert_loss"] +
                               parts["gate_loss"] + 0.5 *
                               probs.sum(0).var(unbiased=False))
    # the manager's gradient from the gate term moves it toward the
    # posterior: d/dlogits of -sum h log softmax = softmax - h
    value = parts["gate_loss"]
    value.backward()
    torch.testing.assert_close(logits.grad, (probs.detach() - posterior) / 4)


def test_an_anchor_kept_after_the_warm_start():
    loss = WarmStartLoss(warm_epochs=1, anchor_weight=10.0,
                         kept_anchor_weight=2.0)
    loss.layer_outputs = _outputs()
    x, partition = torch.rand(4, 5), torch.tensor([0, 1, 2, 1])
    probs = torch.softmax(torch.randn(4, 3), 1)
    loss.set_epoch(type("S", (), {"epoch": 1})())
    value, parts = loss(probs, x, partition)
    anchor = torch.nn.functional.nll_loss(probs.log(), partition)
    torch.testing.assert_close(parts["anchor_loss"], anchor)
    torch.testing.assert_close(value, parts["expected_expert_loss"] + 0.1 *
                               parts["balancing_loss"] + 2.0 * anchor)
    without, parts = loss(probs, x)  # no partition given: the seed's loss
    torch.testing.assert_close(without, parts["expected_expert_loss"] +
                               0.1 * parts["balancing_loss"])
