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


def test_self_labelling_relabels_only_where_the_manager_is_confident():
    """Three images, start labels [0, 0, 2], confidence 0.9. Unmoved-image
    probabilities: image 0 sure of 1 (0.95: relabelled 1), image 1 unsure
    (0.6 for 0, 0.4 for 1: keeps 0), image 2 sure of its own start label. The
    anchor term (weighted x 2 in the loss) is then -(log p01 + log p10 +
    log p22) / 3, and its gradient on the logits (softmax - one-hot) / 3."""
    loss = WarmStartLoss(warm_epochs=1, kept_anchor_weight=2.0,
                         confidence=0.9, self_labelling=True)
    outputs = _outputs(batch=3)
    outputs["clean_probs"] = torch.tensor([[0.05, 0.95, 0.0],
                                           [0.6, 0.4, 0.0],
                                           [0.05, 0.05, 0.9]])
    loss.layer_outputs = outputs
    loss.set_epoch(type("S", (), {"epoch": 1})())
    logits = torch.tensor([[0.0, 1.0, 0.0], [2.0, 0.0, 1.0],
                           [0.0, 0.0, 0.0]], requires_grad=True)
    probs = torch.softmax(logits, 1)
    value, parts = loss(probs, torch.rand(3, 5), torch.tensor([0, 0, 2]))
    expected = -(probs[0, 1].log() + probs[1, 0].log() +
                 probs[2, 2].log()) / 3
    torch.testing.assert_close(parts["anchor_loss"], expected)
    parts["anchor_loss"].backward()
    target = torch.eye(3)[[1, 0, 2]]
    torch.testing.assert_close(logits.grad, (probs.detach() - target) / 3)
    # during the warm start the partition is the target, unchanged
    loss.set_epoch(type("S", (), {"epoch": 0})())
    _, parts = loss(probs.detach(), torch.rand(3, 5), torch.tensor([0, 0, 2]))
    torch.testing.assert_close(parts["anchor_loss"], -(
        probs[0, 0].log() + probs[1, 0].log() + probs[2, 2].log()).detach()
        / 3)
    # without the unmoved pass the manager's own (moved) probabilities
    # relabel: [0, 5, 0] gives 0.987 for expert 1, above 0.9
    del outputs["clean_probs"]
    loss.set_epoch(type("S", (), {"epoch": 1})())
    logits = torch.tensor([[0.0, 5.0, 0.0], [2.0, 0.0, 1.0],
                           [0.0, 0.0, 0.0]], requires_grad=True)
    probs = torch.softmax(logits, 1)
    assert probs[0, 1] > 0.9 and probs[1:].max() < 0.9
    _, parts = loss(probs, torch.rand(3, 5), torch.tensor([0, 0, 2]))
    torch.testing.assert_close(parts["anchor_loss"], -(
        probs[0, 1].log() + probs[1, 0].log() + probs[2, 2].log()) / 3)
    parts["anchor_loss"].backward()  # the target itself carries no gradient
    torch.testing.assert_close(logits.grad, (probs.detach() - target) / 3)


@pytest.mark.parametrize("settings, message", [
    ({"confidence": 2.0}, r"confidence=2.0: expected a probability in"),
    ({"confidence": 0.0}, r"confidence=0.0: expected a probability in"),
    ({"confidence": float("nan")}, r"confidence=nan: expected"),
    ({"self_labelling": True}, r"self_labelling=True: expected False with "
     r"kept_anchor_weight=0.0")])
def test_settings_that_would_do_nothing_or_everything_are_refused(settings,
                                                                  message):
    from moevae.errors import MoEVAEError
    with pytest.raises(MoEVAEError, match=message):
        WarmStartLoss(**settings)
