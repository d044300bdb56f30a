"""torch.optim optimizers from pynet's names, options checked in one line."""
import pytest
import torch

from moevae.errors import MoEVAEValueError
from moevae.training.optimizers import build_optimizer


def parameters():
    return torch.nn.Linear(3, 2).parameters()


@pytest.mark.parametrize("name, options", [
    ("Adam", {}), ("SGD", {"momentum": 0.9}), ("AdamW", {"weight_decay": 0.1}),
    ("RMSprop", {"alpha": 0.9})])
def test_an_optimizer_with_its_learning_rate_and_options(name, options):
    optimizer = build_optimizer(name, parameters(), 0.5, options)
    assert type(optimizer) is getattr(torch.optim, name)
    group = optimizer.param_groups[0]
    assert group["lr"] == 0.5 and len(group["params"]) == 2
    assert all(group[key] == value for key, value in options.items())


def test_a_fused_kernel_is_used_unless_foreach_or_fused_is_given():
    assert build_optimizer("Adam", parameters(), 0.1, {}).param_groups[0][
        "fused"] is True
    chosen = build_optimizer("Adam", parameters(), 0.1, {"foreach": True})
    assert chosen.param_groups[0]["foreach"] is True
    assert not chosen.param_groups[0]["fused"]


def test_an_optimizer_steps():
    weight = torch.nn.Parameter(torch.tensor([1.0]))
    optimizer = build_optimizer("SGD", [weight], 0.25, {})
    (2 * weight).sum().backward()
    optimizer.step()
    assert weight.item() == pytest.approx(0.5)


@pytest.mark.parametrize("name", ["adam", "Optimizer", "LBFGSX", "lr_scheduler"])
def test_an_unknown_name_is_refused_in_one_line(name):
    with pytest.raises(MoEVAEValueError, match=rf"^optimizer_name='{name}': "
                       r"expected one of \[.*'Adam'.*'SGD'"):
        build_optimizer(name, parameters(), 0.1, {})


@pytest.mark.parametrize("options, unknown", [
    ({"momentun": 0.9}, "['momentun']"), ({"lr": 0.1}, "['lr']"),
    ({"params": [], "betas": (0.9, 0.99)}, "['params']")])
def test_unknown_options_are_refused_in_one_line(options, unknown):
    with pytest.raises(MoEVAEValueError) as error:
        build_optimizer("Adam", parameters(), 0.1, options)
    assert str(error.value).startswith(f"unknown argument(s) {unknown} for "
                                       "torch.optim.Adam: expected some of")


@pytest.mark.parametrize("learning_rate", [0, -0.1, True, "0.1",
                                          float("nan"), None])
def test_a_learning_rate_that_is_not_positive_is_refused(learning_rate):
    with pytest.raises(MoEVAEValueError, match=r"^learning_rate="
                       r".*: expected a number > 0$"):
        build_optimizer("Adam", parameters(), learning_rate, {})
