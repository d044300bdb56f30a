"""A run's settings on resume: each takes effect or is refused in one line;
configuration is checked before any batch (issue 16's cases, on small
CPU data)."""
import logging
import os
import signal
from pathlib import Path
from unittest import mock

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from moevae.datasets import DataManager
from moevae.errors import CheckpointError, MoEVAEValueError, TrainingInterrupted
from moevae.interfaces import DeepLearningInterface
from moevae.plotting import Board, update_board
from moevae.training.checkpoint import list_checkpoints
from tests.support.training import (
    BATCH,
    ROWS,
    Noisy,
    data,
    interface,
    same_weights,
    train,
)


class Killed(BaseException):
    """Stands for SIGKILL: the process dies, nothing more is written."""


def contents(folder):
    """Every file's bytes, but the training lock's (it names a pid)."""
    return {p.name: p.read_bytes() for p in folder.iterdir()
            if p.name != ".lock"}


def switch_lr_at(net, step, lr):
    """A reference run whose learning rate changes before global step
    ``step`` (as a resume with a new learning rate does)."""
    count = [0]

    def switch(signal):
        if count[0] == step:
            for group in net.optimizer.param_groups:
                group["lr"] = lr
        count[0] += 1
    net.add_observer("before_batch", switch)


def with_board(net):
    net.board = Board(client=mock.create_autospec(
        __import__("visdom").Visdom, instance=True))
    net.add_observer("after_epoch", update_board)
    # a side effect that draws random numbers must not change training
    net.add_observer("after_epoch", lambda s: torch.rand(3), side_effect=True)
    return net


# -- case 1: continue a finished run ----------------------------------------
def test_more_epochs_continue_a_finished_run_exactly(tmp_path):
    first = interface()
    train(first, tmp_path, 2)
    resumed = interface()
    history, _ = train(resumed, tmp_path, 4, resume=True)
    assert history.steps == [(0, 0), (0, 1), (0, 2), (0, 3)]
    whole = interface()
    train(whole, None, 4)
    assert same_weights(resumed, whole)
    assert list_checkpoints(tmp_path)[0].name == "model_0_epoch_3.pth"


def test_the_same_epochs_on_a_finished_run_train_nothing(tmp_path):
    train(interface(), tmp_path, 2)
    resumed = interface()
    history, _ = train(resumed, tmp_path, 2, resume=True)
    assert history.steps == [(0, 0), (0, 1)]


def test_fewer_epochs_than_trained_are_refused(tmp_path):
    train(interface(), tmp_path, 3)
    with pytest.raises(MoEVAEValueError, match=r"nb_epochs=2: expected >= 3"
                       r": model_0_epoch_2.pth has already trained 3"):
        train(interface(), tmp_path, 2, resume=True)


# -- settings given on resume take effect -----------------------------------
def test_a_new_learning_rate_takes_effect_on_resume(tmp_path, caplog):
    train(interface(lr=0.01), tmp_path, 2)
    resumed = interface(lr=0.05)
    with caplog.at_level(logging.INFO, logger="moevae"):
        train(resumed, tmp_path, 3, resume=True)
    assert resumed.optimizer.param_groups[0]["lr"] == 0.05
    assert ("lr 0.05 in parameter group 0 (the saved run had 0.01)" in
        caplog.text)
    reference = interface(lr=0.01)
    switch_lr_at(reference, 2 * ROWS // BATCH, 0.05)
    train(reference, None, 3)
    assert same_weights(resumed, reference)


def test_a_scheduled_learning_rate_is_kept_when_not_changed(tmp_path):
    net = interface(lr=0.01)
    scheduler = torch.optim.lr_scheduler.StepLR(net.optimizer, 1, 0.5)
    train(net, tmp_path, 2, scheduler=scheduler)
    resumed = interface(lr=0.01)
    scheduler = torch.optim.lr_scheduler.StepLR(resumed.optimizer, 1, 0.5)
    train(resumed, tmp_path, 3, resume=True, scheduler=scheduler)
    assert resumed.optimizer.param_groups[0]["lr"] == pytest.approx(0.00125)


def test_a_changed_scheduler_setting_takes_effect(tmp_path):
    net = interface(lr=0.01)
    train(net, tmp_path, 2, scheduler=torch.optim.lr_scheduler.StepLR(
        net.optimizer, 1, 0.5))
    resumed = interface(lr=0.01)
    scheduler = torch.optim.lr_scheduler.StepLR(resumed.optimizer, 1, 0.1)
    train(resumed, tmp_path, 3, resume=True, scheduler=scheduler)
    assert scheduler.gamma == 0.1 and scheduler.last_epoch == 3
    assert resumed.optimizer.param_groups[0]["lr"] == pytest.approx(0.00025)


def test_a_changed_batch_size_mid_epoch_draws_every_sample_once(tmp_path):
    seen = []

    def record(signal):
        seen.extend(signal.item.inputs[:, 0].long().tolist())
    net = interface()
    net.add_observer("before_batch", record)
    net.add_observer("after_batch", lambda s: s.batch == 2 and os.kill(
        os.getpid(), signal.SIGINT))
    with pytest.raises(TrainingInterrupted, match="batch 3"):
        train(net, tmp_path, 1)
    assert len(seen) == 3 * BATCH
    resumed = interface()
    resumed.add_observer("before_batch", record)
    train(resumed, tmp_path, 1, resume=True, manager=data(batch_size=5))
    assert sorted(seen) == list(range(ROWS))


@pytest.mark.parametrize("change, message", [
    (dict(optimizer_name="SGD"), "optimizer='SGD': expected Adam"),
    (dict(rows=40), "training rows differ from the saved run's"),
])
def test_what_cannot_take_effect_is_refused_in_one_line(tmp_path, change,
                                                        message):
    train(interface(), tmp_path, 1)
    net = interface(optimizer_name=change.get("optimizer_name", "Adam"))
    with pytest.raises(MoEVAEValueError) as error:
        train(net, tmp_path, 2, resume=True,
              manager=data(rows=change.get("rows", ROWS)))
    assert message in str(error.value) and "\n" not in str(error.value)


def test_a_new_run_in_a_folder_holding_one_is_refused(tmp_path):
    train(interface(), tmp_path, 1)
    before = contents(tmp_path)
    with pytest.raises(MoEVAEValueError, match="expected an empty folder or "
                       "resume=True"):
        train(interface(), tmp_path, 1)
    assert contents(tmp_path) == before


# -- case 3: killed during the first checkpoint write -----------------------
def test_resume_with_only_a_torn_write_starts_from_the_beginning(tmp_path,
                                                                 caplog):
    (tmp_path / ".model_0_epoch_0.pth.x1y2.tmp").write_bytes(b"PK torn")
    net = interface()
    with caplog.at_level(logging.WARNING, logger="moevae"):
        history, _ = train(net, tmp_path, 2, resume=True)
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert (len(warnings) == 1 and "no complete checkpoint" in
        warnings[0].message)
    whole = interface()
    train(whole, None, 2)
    assert same_weights(net, whole) and len(history) == 2
    assert not list(tmp_path.glob(".*.tmp"))


def test_initial_states_are_needed_only_for_the_folds_after(tmp_path):
    manager = DataManager.from_numpy(
        train_inputs=np.random.default_rng(0).random((40, 3), np.float32),
        train_outputs=np.zeros((40, 1), np.float32), batch_size=8)
    train(interface(), tmp_path, 1, manager=manager)
    (tmp_path / "initial.pth").unlink()
    history, _ = train(interface(), tmp_path, 2, resume=True,
                       manager=manager)  # one fold: not needed
    assert len(history) == 2


def folds_manager(folder, folds=3):
    import pandas as pd
    inputs = np.random.default_rng(0).random((48, 3), np.float32)
    np.save(folder / "x.npy", inputs)
    np.save(folder / "y.npy", inputs[:, 1:2] - inputs[:, 2:3])
    pd.DataFrame({"label": [0, 1] * 24}).to_csv(folder / "m.tsv", sep="\t",
                                                index=False)
    return DataManager(str(folder / "x.npy"), str(folder / "m.tsv"),
                       output_path=str(folder / "y.npy"),
                       number_of_folds=folds, test_size=0, batch_size=8)


def test_more_epochs_on_a_multi_fold_run_are_refused(tmp_path):
    checkpoints = tmp_path / "ck"
    train(interface(), checkpoints, 2, manager=folds_manager(tmp_path))
    before = contents(checkpoints)
    with pytest.raises(MoEVAEValueError, match=r"nb_epochs=4: expected 2, "
                       r"as the saved run: its folds \[0, 1\] are done"):
        train(interface(), checkpoints, 4, resume=True,
              manager=folds_manager(tmp_path))
    assert contents(checkpoints) == before


def test_the_same_rows_with_other_content_are_refused(tmp_path):
    train(interface(), tmp_path, 1)
    other = data()
    other.inputs[:, 1] = 1 - other.inputs[:, 1]  # same ids, other pixels
    with pytest.raises(MoEVAEValueError, match="training rows differ"):
        train(interface(), tmp_path, 2, resume=True, manager=other)


def test_an_optimizer_state_change_is_refused_before_any_weight_moves(
        tmp_path):
    train(interface(), tmp_path, 1)
    net = interface(amsgrad=True)
    before = [p.detach().clone() for p in net.model.parameters()]
    with pytest.raises(MoEVAEValueError, match="amsgrad=True: expected "
                       "False"):
        train(net, tmp_path, 2, resume=True)
    assert all(torch.equal(a, b) for a, b in
               zip(before, net.model.parameters()))


# -- case 4: configuration errors before the first batch --------------------
@pytest.mark.parametrize("options, message", [
    (dict(with_validation=True), "validation set is empty"),
    (dict(nb_epochs=0), "nb_epochs=0"),
    (dict(save_after_epochs=0), "save_after_epochs=0"),
    (dict(fold_index=3), "fold_index=3"),
    (dict(scheduler=object()), "scheduler="),
    (dict(resume=True), "resume=True: expected a checkpointdir"),
])
def test_configuration_errors_come_before_any_batch(tmp_path, options,
                                                    message):
    net = interface()
    batches = []
    net.add_observer("before_batch", batches.append)
    manager = data(validation=False)
    arguments = dict(nb_epochs=3, with_validation=False)
    arguments.update(options)
    with pytest.raises(MoEVAEValueError, match=message):
        net.training(manager, **arguments)
    assert batches == []


# -- the property: stop anywhere, change an allowed setting, resume ----------
@settings(max_examples=8, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(stop_at=st.integers(0, 2 * ROWS // BATCH - 1),
       how=st.sampled_from(["SIGINT", "SIGKILL"]),
       extra_epochs=st.integers(0, 2),
       new_lr=st.sampled_from([None, 0.03]),
       board=st.booleans())
@example(stop_at=ROWS // BATCH - 1, how="SIGINT", extra_epochs=0,
         new_lr=None, board=False)  # after an epoch's last batch
@example(stop_at=2, how="SIGKILL", extra_epochs=1, new_lr=0.03,
         board=True)  # before the first checkpoint
def test_stop_anywhere_then_resume_with_a_change_is_exact(
        tmp_path_factory, stop_at, how, extra_epochs, new_lr, board):
    folder = tmp_path_factory.mktemp("run")
    epochs, batches = 2, ROWS // BATCH
    broken = interface()

    def stop(signal):
        step = broken_steps[0]
        broken_steps[0] += 1
        if step == stop_at:
            if how == "SIGKILL":
                raise Killed()
            os.kill(os.getpid(), signal_module.SIGINT)
    broken_steps = [0]
    signal_module = signal
    broken.add_observer("after_batch", stop)
    with pytest.raises((Killed, TrainingInterrupted)):
        train(broken, folder, epochs)
    # what the checkpoints hold: SIGINT saves after the step it arrived in,
    # SIGKILL loses everything after the last epoch-end checkpoint
    done = stop_at + 1 if how == "SIGINT" else (stop_at // batches) * batches
    resumed = interface(lr=new_lr or 0.01)
    if board:
        with_board(resumed)
    history, _ = train(resumed, folder, epochs + extra_epochs, resume=True)
    reference = interface()
    if new_lr:
        switch_lr_at(reference, done, new_lr)
    train(reference, None, epochs + extra_epochs)
    assert same_weights(resumed, reference)
    assert len(history) == epochs + extra_epochs


def test_a_finished_epoch_supersedes_its_mid_epoch_checkpoint(tmp_path):
    net = interface()
    net.add_observer("after_batch", lambda s: s.batch == 2 and os.kill(
        os.getpid(), signal.SIGINT))
    with pytest.raises(TrainingInterrupted):
        train(net, tmp_path, 2)
    train(interface(), tmp_path, 2, resume=True)
    assert [p.name for p in list_checkpoints(tmp_path)] == [
        "model_0_epoch_1.pth", "model_0_epoch_0.pth"]
    resumed = interface(lr=0.05)
    train(resumed, tmp_path, 3, resume=True)
    reference = interface()
    switch_lr_at(reference, 2 * ROWS // BATCH, 0.05)
    train(reference, None, 3)
    assert same_weights(resumed, reference)


def test_resume_never_overwrites_checkpoints_it_cannot_read(tmp_path):
    for name in ("model_0_epoch_0.pth", "model_0_epoch_5.pth"):
        torch.save({"model": {"w": torch.ones(1)}}, tmp_path / name)
    before = contents(tmp_path)
    with pytest.raises(CheckpointError, match="model_0_epoch_5.pth, "
                       "model_0_epoch_0.pth\\) is a complete moevae "
                       "checkpoint"):
        train(interface(), tmp_path, 2, resume=True)
    assert contents(tmp_path) == before


def test_a_folder_another_process_trains_into_is_refused(tmp_path):
    import fcntl

    from moevae.training.checkpoint import Checkpointer
    holder = Checkpointer(tmp_path)
    with holder.held(), pytest.raises(MoEVAEValueError, match=r"no other process "
                       r"trains into \(held by pid \d+\)"):
        train(interface(), tmp_path, 1)
    train(interface(), tmp_path, 1)  # released: trains
    with open(tmp_path / ".lock") as handle:  # and released again
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)


def test_a_declared_training_callback_keeps_what_it_changes():
    def reseed(signal):
        torch.manual_seed(1234 + signal.epoch)
    runs = []
    for seed_offset in (0, 1):
        net = interface()
        net.add_observer("before_epoch", lambda s, k=seed_offset:
                         torch.manual_seed(1234 + k + s.epoch),
                         side_effect=False)
        train(net, None, 2)
        runs.append(net)
    assert not same_weights(*runs)  # the reseeding took effect
    guarded = interface()
    guarded.add_observer("before_epoch", reseed)  # undeclared: put back
    train(guarded, None, 2)
    assert same_weights(guarded, interface_trained(2))


def interface_trained(epochs):
    net = interface()
    train(net, None, epochs)
    return net


RELEASE1 = Path(__file__).parents[1] / "data" / "release1"


@pytest.mark.parametrize("names", [
    ["model_0_epoch_0.pth", "model_0_epoch_1_batch_3.pth"],
    ["model_0_epoch_0.pth"]])
def test_checkpoints_of_the_first_release_still_resume(tmp_path, names):
    """The first release wrote format 1 (its initial states inside each
    checkpoint, positions in batches): resuming from it is exact.
    (tests/data/release1: that release's ``training()`` of this module's
    ``interface()`` on ``data()`` for 2 epochs, SIGINT after step 9.)"""
    import shutil
    for name in names:
        shutil.copy(RELEASE1 / name, tmp_path / name)
    resumed = interface()
    history, _ = train(resumed, tmp_path, 3, resume=True)
    whole = interface()
    train(whole, None, 3)
    assert same_weights(resumed, whole) and len(history) == 3


def test_a_refused_checkpoint_leaves_the_interface_as_it_was(tmp_path):
    train(interface(), tmp_path, 1)
    torch.manual_seed(5)
    model = Noisy()  # the same parameters, an optimizer over some of them
    net = DeepLearningInterface(
        model=model, loss_name="MSELoss",
        optimizer=torch.optim.Adam([model.linear.weight], lr=0.01))
    before = {k: v.clone() for k, v in net.model.state_dict().items()}
    with pytest.raises(CheckpointError, match="optimizer state does not "
                       "match"):
        train(net, tmp_path, 2, resume=True)
    assert all(torch.equal(before[k], v)
               for k, v in net.model.state_dict().items())


def test_drop_last_with_no_full_batch_is_refused_before_any_batch():
    rows = np.zeros((48, 3), np.float32)
    manager = DataManager.from_numpy(train_inputs=rows, train_outputs=rows,
                                     batch_size=64, drop_last=True)
    net = interface()
    batches = []
    net.add_observer("before_batch", batches.append)
    with pytest.raises(MoEVAEValueError, match=(
            r"^batch_size=64 with drop_last=True: fold 0's 48 training rows "
            r"make no full batch; expected a batch size of at most 48")):
        train(net, None, 1, manager=manager)
    assert batches == []


def test_a_batch_larger_than_the_training_set_is_said_once():
    manager = data(batch_size=64)  # 48 rows: one batch of 48 an epoch
    with pytest.warns(UserWarning) as said:
        train(interface(), None, 2, manager=manager)
    assert [str(warning.message) for warning in said] == [
        "batch_size=64 is more than fold 0's 48 training rows: each epoch "
        "trains one batch of 48"]
