import warnings

import numpy as np
import pytest
import torch

from moevae.datasets import DataManager
from moevae.errors import MoEVAEError, NonFiniteLossError
from moevae.interfaces import DeepLearningInterface, resolve_device
from moevae.losses import ManagerLoss
from moevae.models import FusedManager
from tests.support.helpers import seed_manager


def regression_manager(batch_size=8, rows=40, test=False, poison=None):
    generator = np.random.default_rng(0)
    inputs = generator.random((rows, 3), dtype=np.float32)
    outputs = inputs @ np.array([[1.0], [-2.0], [0.5]], np.float32)
    if poison is not None:
        inputs[poison] = 1e38
    sets = dict(train_inputs=inputs[:32], train_outputs=outputs[:32],
                validation_inputs=inputs[32:], validation_outputs=outputs[32:])
    if test:
        sets.update(test_inputs=inputs[32:], test_outputs=outputs[32:])
    return DataManager.from_numpy(batch_size=batch_size, **sets)


def linear_interface(**options):
    torch.manual_seed(0)
    settings = dict(model=torch.nn.Linear(3, 1), loss_name="MSELoss",
                    optimizer_name="SGD", learning_rate=0.1)
    if "loss" in options:  # one or the other
        del settings["loss_name"]
    settings.update(options)
    return DeepLearningInterface(**settings)


def test_observers_in_order_with_fields_and_history():
    interface = linear_interface()
    events = []
    interface.add_observer("before_epoch", lambda s: events.append(
        ("before", s.epoch, s.fold, s.scheduler)))
    interface.add_observer("after_epoch", lambda s: events.append(
        ("after", s.epoch, s.fold, s.loss, s.val_loss, s.keys)))
    train, valid = interface.training(regression_manager(), nb_epochs=3,
                                      with_validation=True)
    assert [e[:3] for e in events] == [
        ("before", 0, 0), ("after", 0, 0), ("before", 1, 0), ("after", 1, 0),
        ("before", 2, 0), ("after", 2, 0)]
    afters = [e for e in events if e[0] == "after"]
    assert [a[3] for a in afters] == train["loss"][1].tolist()
    assert [a[4] for a in afters] == valid["loss"][1].tolist()
    assert train.steps == [(0, 0), (0, 1), (0, 2)]
    assert train["loss"][1][2] < train["loss"][1][0]
    keys = afters[0][5]
    assert {"epoch", "fold", "scheduler", "loss", "val_loss", "val_pred",
            "epoch_time", "samples_per_second", "lr", "batch_loss"} <= set(keys)


def test_loss_protocol_with_layer_outputs_and_components():
    class Model(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.linear = torch.nn.Linear(3, 1)

        def forward(self, x):
            out = self.linear(x)
            return out, {"hidden": out * 2}

    class Loss:
        def __init__(self):
            self.layer_outputs = None
            self.seen = []

        def __call__(self, outputs, targets):
            self.seen.append(self.layer_outputs)
            mse = ((outputs - targets) ** 2).mean()
            extra = self.layer_outputs["hidden"].abs().mean()
            return mse + 0 * extra, {"mse": mse, "hidden": extra}
    loss = Loss()
    interface = linear_interface(model=Model(), loss=loss)
    train, _ = interface.training(regression_manager(), nb_epochs=1,
                                  with_validation=False)
    assert all("hidden" in seen for seen in loss.seen) and len(loss.seen) == 4
    assert set(train.metrics) == {"loss", "mse", "hidden"}


def test_metrics_and_testing():
    def mae(outputs, targets):
        return (outputs - targets).abs().mean()
    interface = linear_interface(metrics=[mae])
    manager = regression_manager(test=True)
    train, _ = interface.training(manager, nb_epochs=2, with_validation=False)
    assert "mae" in train.metrics
    y, X, y_true, loss, values = interface.testing(manager)
    assert y.shape == (8, 1) and X.shape == (8, 3) and y_true.shape == (8, 1)
    assert loss == pytest.approx(float(((y - y_true) ** 2).mean()), rel=1e-5)
    assert values["mae"] == pytest.approx(float(np.abs(y - y_true).mean()),
                                          rel=1e-5)


def test_checkpoints_every_n_epochs(tmp_path):
    interface = linear_interface(keep_checkpoints=10)
    interface.training(regression_manager(), nb_epochs=5, checkpointdir=str(
        tmp_path), save_after_epochs=2, with_validation=True)
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == [".lock", "best.pth", "initial.pth", "model_0_epoch_0.pth",
                     "model_0_epoch_2.pth",
                     "model_0_epoch_4.pth"]


def test_only_the_last_checkpoints_are_kept(tmp_path):
    linear_interface().training(regression_manager(), nb_epochs=4,
                                checkpointdir=str(tmp_path),
                                with_validation=False)
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        ".lock", "initial.pth", "model_0_epoch_2.pth", "model_0_epoch_3.pth"]


def test_scheduler_steps_and_lr_reported():
    interface = linear_interface()
    scheduler = torch.optim.lr_scheduler.StepLR(interface.optimizer, 1, 0.5)
    rates = []
    interface.add_observer("after_epoch", lambda s: rates.append(s.lr))
    interface.training(regression_manager(), nb_epochs=3, scheduler=scheduler,
                       with_validation=False)
    assert rates == [0.05, 0.025, 0.0125]


@pytest.mark.parametrize("options, message", [
    (dict(optimizer_name="Adamm"), "optimizer_name='Adamm'"),
    (dict(loss=None, loss_name="MSE"), "loss_name='MSE'"),
    (dict(loss=3), "loss=3"),
    (dict(model="net"), "model='net'"),
    (dict(momentun=0.9), "momentun"),
    (dict(learning_rate=-1), "learning_rate=-1"),
    (dict(device="gpu"), "device='gpu'"),
    (dict(precision="fp8"), "precision='fp8'"),
])
def test_bad_arguments_are_one_line_errors(options, message):
    with pytest.raises(MoEVAEError, match=message) as error:
        linear_interface(**options)
    assert "\n" not in str(error.value)


def test_bad_training_arguments():
    interface = linear_interface()
    with pytest.raises(MoEVAEError, match="nb_epochs=0"):
        interface.training(regression_manager(), nb_epochs=0)
    with pytest.raises(MoEVAEError, match="fold_index=3"):
        interface.training(regression_manager(), nb_epochs=1, fold_index=3)
    with pytest.raises(MoEVAEError, match="signal='after_batches'"):
        interface.add_observer("after_batches", print)


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a CPU-only box")
def test_use_cuda_without_gpu_warns_once_and_trains_on_cpu(monkeypatch):
    import moevae.training.devices as module
    monkeypatch.setattr(module, "_warned_no_cuda", False)
    with pytest.warns(RuntimeWarning, match="no GPU") as record:
        interface = linear_interface(use_cuda=True)
        linear_interface(use_cuda=True)
    assert len(record) == 1 and interface.device.type == "cpu"
    interface.training(regression_manager(), nb_epochs=1,
                       with_validation=False)


def test_nonfinite_loss_stops_with_batch_and_component():
    interface = linear_interface()
    with pytest.raises(NonFiniteLossError, match=r"epoch 1/2, batch \d/4: "
                       r"non-finite loss .* not updated") as error:
        interface.training(regression_manager(poison=20), nb_epochs=2,
                           with_validation=False)
    assert "the last checkpoint is kept" in str(error.value)
    assert all(torch.isfinite(p).all() for p in interface.model.parameters())


def test_nonfinite_batches_can_be_skipped():
    interface = linear_interface(nonfinite="skip")
    train, _ = interface.training(regression_manager(poison=20), nb_epochs=2,
                                  with_validation=False)
    assert interface.skipped_batches == 2 and np.isfinite(
        train["loss"][1]).all()


def test_moe_model_trains_and_reports_components(mnist_dir):
    manager = seed_manager(mnist_dir)
    torch.manual_seed(0)
    interface = DeepLearningInterface(model=FusedManager(), loss=ManagerLoss(),
                                      optimizer_name="Adam",
                                      learning_rate=1e-3)
    train, _ = interface.training(manager, nb_epochs=2, fold_index=0,
                                  with_validation=False)
    assert train.metrics == ["loss", "expected_expert_loss", "balancing_loss"]
    losses = train["loss"][1]
    assert losses[1] < losses[0] and 150 < losses[1] < 600


def test_resolve_device_auto_and_cpu():
    assert resolve_device("cpu", use_cuda=True).type == "cpu"
    expected = "cuda" if torch.cuda.is_available() else "cpu"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert resolve_device("auto", use_cuda=False).type == expected


@pytest.mark.slow
def test_compiled_forward_trains_like_eager():
    eager = linear_interface()
    compiled = linear_interface(compile=True)
    torch.manual_seed(1)  # the same batch order for both
    first, _ = eager.training(regression_manager(), nb_epochs=2,
                              with_validation=False)
    torch.manual_seed(1)
    second, _ = compiled.training(regression_manager(), nb_epochs=2,
                                  with_validation=False)
    assert not compiled.step.compiled.fell_back
    np.testing.assert_allclose(first["loss"][1], second["loss"][1],
                               rtol=1e-4)


def test_compile_failure_falls_back_with_one_warning(monkeypatch):
    interface = linear_interface(compile=True)

    def broken(*args):
        raise RuntimeError("no C++ compiler\\nmore details")
    monkeypatch.setattr(interface.step.compiled, "function", broken)
    with pytest.warns(RuntimeWarning, match="no C.. compiler") as record:
        interface.training(regression_manager(), nb_epochs=1,
                           with_validation=False)
    assert len(record) == 1 and interface.step.compiled.fell_back


def test_precision_warnings_on_cpu():
    if torch.cuda.is_available():
        pytest.skip("CPU-only behaviour")
    with pytest.warns(RuntimeWarning, match="only changes CUDA"):
        linear_interface(precision="tf32")


def test_an_epoch_with_every_batch_skipped_is_an_error():
    interface = linear_interface(nonfinite="skip")
    manager = DataManager.from_numpy(
        train_inputs=np.full((8, 3), 1e38, np.float32),
        train_outputs=np.zeros((8, 1), np.float32), batch_size=4)
    with pytest.raises(NonFiniteLossError, match="every batch was skipped"):
        interface.training(manager, nb_epochs=1, with_validation=False)


def test_interface_resume_needs_a_checkpoint_with_an_optimizer(tmp_path):
    with pytest.raises(MoEVAEError, match="resume=True: expected pretrained"):
        linear_interface(resume=True)
    torch.save(torch.nn.Linear(3, 1).state_dict(), tmp_path / "weights.pth")
    with pytest.raises(MoEVAEError, match="resume=True: expected pretrained"):
        linear_interface(resume=True, pretrained=str(tmp_path / "weights.pth"))


class SqrtLoss(torch.nn.Module):
    """Finite loss, NaN gradients: d sqrt(u)/du at u = 0."""

    def forward(self, outputs, targets):
        return torch.sqrt(0 * outputs.sum()) + ((outputs - targets) ** 2
                                               ).mean()


@pytest.mark.parametrize("nonfinite", ["raise", "skip"])
def test_nan_gradients_of_a_finite_loss_never_reach_the_weights(nonfinite):
    interface = linear_interface(loss=SqrtLoss(), nonfinite=nonfinite)
    before = [p.detach().clone() for p in interface.model.parameters()]
    if nonfinite == "raise":
        with pytest.raises(NonFiniteLossError, match="batch 1/4: "
                           "non-finite gradients"):
            interface.training(regression_manager(), nb_epochs=1,
                               with_validation=False)
    else:
        with pytest.raises(NonFiniteLossError, match="every batch was "
                           "skipped"):
            interface.training(regression_manager(), nb_epochs=1,
                               with_validation=False)
    assert all(torch.equal(a, b) for a, b in
               zip(before, interface.model.parameters()))


def test_the_device_side_check_skips_nan_gradients_too():
    interface = linear_interface(loss=SqrtLoss(), optimizer_name="Adam",
                                 nonfinite="raise")
    interface.step.deferred = True  # as on CUDA with a fused optimizer
    before = [p.detach().clone() for p in interface.model.parameters()]
    with pytest.raises(NonFiniteLossError, match="at batch 1/"):
        interface.training(regression_manager(), nb_epochs=1,
                           with_validation=False)
    assert all(torch.equal(a, b) for a, b in
               zip(before, interface.model.parameters()))


def test_a_gpu_index_not_visible_here_is_one_line(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)
    with pytest.raises(MoEVAEError, match=r"device='cuda:2': expected "
                       r"cuda:0 to cuda:1 \(2 GPU\(s\) visible here\)"):
        resolve_device("cuda:2", use_cuda=False)
    with pytest.raises(MoEVAEError, match="device='cuda:x'"):
        resolve_device("cuda:x", use_cuda=False)



@pytest.mark.parametrize("options, message", [
    (dict(optimizer_name="Adam", learning_rate=1e-5),
     r"optimizer='SGD': expected no optimizer_name/learning_rate/options "
     r"with it \(given: learning_rate=1e-05\)"),
    (dict(momentum=0.9), r"given: momentum=0.9"),
    (dict(loss=torch.nn.MSELoss(), loss_name="CrossEntropyLoss"),
     "loss_name='CrossEntropyLoss': expected no loss_name with loss="),
    (dict(add_labels="no"), "add_labels='no' .*True or False"),
    (dict(compile="yes"), "compile='yes'"),
])
def test_arguments_that_would_be_ignored_are_refused(options, message):
    model = torch.nn.Linear(3, 1)
    settings = (dict(model=model, optimizer=torch.optim.SGD(
        model.parameters(), lr=0.5)) if "loss" in options or
        "momentum" in options or "optimizer_name" in options else
        dict(model=model, loss_name="MSELoss"))
    if "loss" not in options and "optimizer" in settings:
        settings["loss_name"] = "MSELoss"
    with pytest.raises(MoEVAEError, match=message):
        DeepLearningInterface(**settings, **options)


def test_resume_refuses_another_optimizers_state(tmp_path):
    model = torch.nn.Linear(3, 1)
    sgd = torch.optim.SGD(model.parameters(), lr=0.5, momentum=0.9)
    torch.save({"model": model.state_dict(), "optimizer": sgd.state_dict()},
               tmp_path / "sgd.pth")
    with pytest.raises(MoEVAEError, match="does not fit this Adam over "
                       "these parameters"):
        DeepLearningInterface(model=model, loss_name="MSELoss",
                              pretrained=str(tmp_path / "sgd.pth"),
                              resume=True)


def test_bf16_predictions_reach_numpy_in_validation_and_testing():
    # autocast makes the predictions bfloat16, which numpy has not
    seen = []
    interface = linear_interface(precision="bf16")
    interface.add_observer("after_epoch",
                           lambda signal: seen.append(signal.val_pred))
    manager = regression_manager(test=True)
    interface.training(manager, nb_epochs=1, with_validation=True)
    y, X, y_true, loss, values = interface.testing(manager)
    assert y.dtype == np.float32 and y.shape == (8, 1)
    assert seen[0].dtype == np.float32


def test_drop_last_never_shortens_validation_or_test(tmp_path):
    """A validation (and test) set smaller than a batch, with drop_last:
    every one of its rows is scored (it ended in KeyError: 'loss')."""
    from tests.support.training import interface
    x = np.random.default_rng(0).random((16, 3)).astype(np.float32)
    manager = DataManager.from_numpy(
        train_inputs=x[:8], train_outputs=x[:8, 1:2], validation_inputs=x[8:12],
        validation_outputs=x[8:12, 1:2], test_inputs=x[12:],
        test_outputs=x[12:, 1:2], batch_size=8, drop_last=True)
    net = interface()
    train, valid = net.training(manager, nb_epochs=1, with_validation=True)
    assert len(valid.history) == 1
    y, X, y_true, loss, _ = net.testing(manager)
    assert len(y) == len(X) == 4 and loss is not None


def test_a_sampler_that_draws_no_full_batch_is_named_not_called_nonfinite():
    from torch.utils.data import Sampler

    from tests.support.training import interface

    class Half(Sampler):
        def __init__(self, dataset):
            self.count = len(dataset) // 2

        def __iter__(self):
            return iter(range(self.count))

        def __len__(self):
            return self.count

    x = np.zeros((10, 3), np.float32)
    manager = DataManager.from_numpy(train_inputs=x, train_outputs=x[:, :1],
                                     batch_size=8, drop_last=True,
                                     sampler=Half)
    with pytest.raises(MoEVAEError, match=(
            r"^fold 0 epoch 1/1: the training loader gave no batch "
            r"\(batch_size=8, drop_last=True\); expected a sampler that "
            r"draws at least one full batch$")):
        interface().training(manager, nb_epochs=1, with_validation=False)
