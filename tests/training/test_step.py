"""One optimisation step, with its collaborators given explicitly."""
import pytest
import torch

from moevae.datasets.arrays import DataItem
from moevae.datasets.loaders import BatchShare
from moevae.errors import MoEVAEValueError, NonFiniteLossError
from moevae.models import global_batch
from moevae.training.step import OptimisationStep, StepResult, collect, parse_outputs
from moevae.training.totals import EpochTotals


def batch(rows=4, features=3, seed=0):
    generator = torch.Generator().manual_seed(seed)
    x = torch.randn(rows, features, generator=generator)
    return DataItem(x, x.sum(dim=1, keepdim=True), None)


def make_step(loss=None, lr=0.1, **options):
    torch.manual_seed(0)
    model = torch.nn.Linear(3, 1)
    optimizer = torch.optim.SGD(model.parameters(), lr=lr)
    step = OptimisationStep(model, loss or torch.nn.MSELoss(), optimizer,
                            torch.device("cpu"), **options)
    return step, model


def weights(model):
    return [p.detach().clone() for p in model.parameters()]


def test_a_training_step_moves_the_weights_down_the_loss():
    step, model = make_step()
    item = batch()
    before = step.evaluate(item).loss
    start = weights(model)
    result = step.train(item, "batch 1")
    assert isinstance(result, StepResult) and bool(result.finite)
    assert result.samples == 4 and result.weight == 1.0
    assert not all(torch.equal(a, b) for a, b in zip(start, weights(model)))
    assert step.evaluate(item).loss < before


def test_evaluate_neither_changes_the_weights_nor_builds_a_graph():
    step, model = make_step()
    start = weights(model)
    result = step.evaluate(batch())
    assert not result.loss.requires_grad
    assert all(torch.equal(a, b) for a, b in zip(start, weights(model)))


def nan_loss(outputs, target):
    return (outputs * float("nan")).mean(), {"part": torch.tensor(1.0)}


def test_a_nonfinite_loss_raises_naming_the_batch_and_keeps_the_weights():
    step, model = make_step(loss=nan_loss)
    start = weights(model)
    with pytest.raises(NonFiniteLossError,
                       match=r"^fold 0, batch 3: non-finite loss nan "
                             r"\(components: loss\)"):
        step.train(batch(), "fold 0, batch 3")
    assert all(torch.equal(a, b) for a, b in zip(start, weights(model)))


@pytest.mark.parametrize("loss", [
    nan_loss,
    lambda outputs, target: (outputs - target).abs().sqrt().mean() * 0,
])
def test_skip_drops_a_nonfinite_loss_or_gradient(loss):
    """The second loss is finite (0) with NaN gradients (sqrt at 0)."""
    step, model = make_step(loss=loss, nonfinite="skip")
    item = batch()
    model.weight.data.zero_()
    model.bias.data.zero_()
    item = DataItem(item.inputs, torch.zeros(4, 1), None)
    start = weights(model)
    result = step.train(item, "batch 1")
    assert not bool(result.finite)
    assert all(torch.equal(a, b) for a, b in zip(start, weights(model)))
    assert all(p.grad is None for p in model.parameters())


def test_a_share_weighs_the_loss_by_its_rows_and_is_seen_by_the_model():
    """Rows 0:1 of a batch of 3 over 2 ranks: weight 1 x 2 / 3."""
    seen = []

    class Model(torch.nn.Linear):
        def forward(self, x):
            seen.append(global_batch._SHARE.get())
            return super().forward(x)

    item = batch(rows=1)
    grads = []
    for share in (None, BatchShare(0, 1, 3, 2)):
        torch.manual_seed(0)
        model = Model(3, 1)
        optimizer = torch.optim.SGD(model.parameters(), lr=0.0)
        step = OptimisationStep(model, torch.nn.MSELoss(), optimizer,
                                torch.device("cpu"))
        result = step.train(item, "batch 1", share)
        grads.append(model.weight.grad.clone())
    assert result.weight == pytest.approx(2 / 3)
    assert seen == [None, BatchShare(0, 1, 3, 2)]
    torch.testing.assert_close(grads[1], grads[0] * 2 / 3)
    assert global_batch._SHARE.get() is None  # only during the forward pass


def test_regularizers_are_added_in_training_only():
    calls = []

    def regularizers(layer_outputs):
        calls.append(layer_outputs)
        return [torch.tensor(5.0), torch.tensor(2.0)]

    step, _ = make_step(regularizers=regularizers, lr=0.0)
    item = batch()
    plain = step.evaluate(item).loss
    trained = step.train(item, "batch 1").loss
    assert trained.item() == pytest.approx(plain.item() + 7.0)
    assert calls == [None]


def test_components_and_metrics_are_scalars_on_the_device():
    def loss(outputs, target):
        return ((outputs - target) ** 2).mean(), {"twice": 2.0,
                                                   "rows": outputs[:, 0]}

    def rows_seen(outputs, target):
        assert not torch.is_grad_enabled()
        return len(outputs)

    step, _ = make_step(loss=loss, metrics={"rows_seen": rows_seen})
    result = step.train(batch(), "batch 1")
    assert set(result.components) == {"twice", "rows", "rows_seen"}
    for value in result.components.values():
        assert value.shape == () and value.dtype == torch.float32
    assert result.components["rows_seen"].item() == 4.0
    assert result.components["twice"].item() == 2.0


def test_labels_reach_the_model_with_add_labels():
    received = []

    class Model(torch.nn.Linear):
        def forward(self, x, *extra):
            received.append(len(extra))
            return super().forward(x)

    model = Model(3, 1)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    item = batch()
    item = DataItem(item.inputs, item.outputs, torch.arange(4))
    for add_labels in (False, True):
        step = OptimisationStep(model, lambda out, target, labels: (
            (out - target) ** 2).mean(), optimizer, torch.device("cpu"),
            add_labels=add_labels)
        step.train(item, "batch 1")
    assert received == [0, 1]


@pytest.mark.parametrize("returned, message", [
    (torch.ones(2), r"the loss returned Tensor of shape torch.Size\(\[2\]\)"),
    ((1, 2, 3), "the loss returned tuple of 3 items"),
    ("0.5", "the loss returned str of shape None"),
])
def test_a_loss_that_breaks_the_protocol_is_named(returned, message):
    step, _ = make_step(loss=lambda outputs, target: returned)
    with pytest.raises(MoEVAEValueError, match=message):
        step.train(batch(), "batch 1")


def test_parse_outputs_follows_pynets_convention():
    assert parse_outputs(3, "model") == (3, None)
    assert parse_outputs((3,), "model") == (3, None)
    assert parse_outputs((3, {"a": 1}), "model") == (3, {"a": 1})
    assert parse_outputs([3, None], "model") == (3, None)
    with pytest.raises(MoEVAEValueError, match="the model returned tuple "
                       "of 2 items; expected one output or"):
        parse_outputs((3, 4), "model")


def test_an_unknown_policy_is_refused_in_one_line():
    with pytest.raises(MoEVAEValueError,
                       match=r"^nonfinite='ignore': expected one of"):
        make_step(nonfinite="ignore")


def test_collect_copies_in_float32_and_appends_named_layer_outputs():
    outputs = torch.ones(2, 3, dtype=torch.bfloat16)
    result = StepResult(torch.zeros(()), {}, 2, outputs,
                        {"z": torch.zeros(2, 1)}, torch.tensor(True))
    plain = collect(result, None)
    assert plain.dtype == torch.float32 and plain.shape == (2, 3)
    assert collect(result, ["z"]).shape == (2, 4)
    with pytest.raises(MoEVAEValueError, match=r"no layer output 'q'; the "
                       r"model returned \['z'\]"):
        collect(result, ["q"])
    same = torch.ones(2, 3)
    result.outputs = same
    assert collect(result, None).data_ptr() != same.data_ptr()


def test_check_deferred_names_the_first_nonfinite_batch():
    step, _ = make_step()
    totals = EpochTotals()
    for finite in (True, False, False):
        totals.add(torch.tensor(1.0), {}, 2, torch.tensor(finite))
    step.check_deferred(totals, "epoch 1")  # host-checked: nothing to say
    step.deferred = True
    with pytest.raises(NonFiniteLossError,
                       match=r"^epoch 1: non-finite loss at batch 2/3"):
        step.check_deferred(totals, "epoch 1")
