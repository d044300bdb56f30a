"""Snapshots of optimizer and scheduler settings; what a resume may change."""
import logging

import pytest
import torch

from moevae.errors import MoEVAEValueError
from moevae.training.hyperparameters import (
    apply_changed_groups,
    check_group_changes,
    group_settings,
    plain,
    scheduler_settings,
)


def adam(**options):
    return torch.optim.Adam(torch.nn.Linear(2, 1).parameters(), **options)


def test_plain_turns_tuples_and_tensors_into_lists():
    assert plain((0.9, (1, 2))) == [0.9, [1, 2]]
    assert plain(torch.tensor([1.5, 2.0])) == [1.5, 2.0]
    assert plain(torch.tensor(3)) == 3
    assert plain("x") == "x" and plain(None) is None


def test_group_settings_hold_the_hyperparameters_not_the_parameters():
    settings = group_settings(adam(lr=0.1, betas=(0.8, 0.9)))
    assert len(settings) == 1
    assert settings[0]["lr"] == 0.1 and settings[0]["betas"] == [0.8, 0.9]
    assert "params" not in settings[0] and "initial_lr" not in settings[0]


def test_changed_settings_are_put_back_with_their_type(caplog):
    optimizer = adam(lr=0.1, betas=(0.8, 0.9))
    torch.optim.lr_scheduler.StepLR(optimizer, 1)  # sets initial_lr
    saved = group_settings(optimizer)
    now = [dict(saved[0], lr=0.5, betas=[0.7, 0.9])]
    with caplog.at_level(logging.INFO, logger="moevae"):
        changed = apply_changed_groups(optimizer, saved, now)
    group = optimizer.param_groups[0]
    assert sorted(changed) == ["betas", "lr"]
    assert group["lr"] == 0.5 and group["initial_lr"] == 0.5
    assert group["betas"] == (0.7, 0.9)  # a tuple, as torch keeps it
    assert ("resume: lr 0.5 in parameter group 0 (the saved run had 0.1)"
        in caplog.text)


def test_unchanged_or_unknown_settings_change_nothing():
    optimizer = adam(lr=0.1)
    saved = group_settings(optimizer)
    assert apply_changed_groups(optimizer, saved, saved) == []
    assert apply_changed_groups(optimizer, saved,
                                [dict(saved[0], new_key=1)]) == []
    assert optimizer.param_groups[0]["lr"] == 0.1


def test_scheduler_settings_leave_out_its_progress():
    assert scheduler_settings(None) == {"class": None, "settings": {}}
    scheduler = torch.optim.lr_scheduler.StepLR(adam(lr=1.0), step_size=3,
                                                gamma=0.5)
    before = scheduler_settings(scheduler)
    for _ in range(4):
        scheduler.optimizer.step()
        scheduler.step()
    assert scheduler_settings(scheduler) == before
    assert before["class"] == "StepLR"
    assert before["settings"]["step_size"] == 3
    assert before["settings"]["gamma"] == 0.5
    assert "last_epoch" not in before["settings"]


def test_a_scheduler_without_state_has_no_settings():
    assert scheduler_settings(object()) == {"class": "object",
                                            "settings": {}}


@pytest.mark.parametrize("saved, now, message", [
    ([{}], [{}, {}], r"^optimizer='2 parameter group\(s\)': expected 1, as "
                     r"in run/x.pth$"),
    ([{}, {}], [{}], r"^optimizer='1 parameter group\(s\)': expected 2"),
    ([{"amsgrad": False}], [{"amsgrad": True}],
     r"^amsgrad=True: expected False as in run/x.pth \(parameter group 0\)"),
    ([{}, {"amsgrad": True}], [{}, {"amsgrad": False}],
     r"\(parameter group 1\): the saved optimizer state has no room")])
def test_changes_no_saved_state_can_follow_are_refused(saved, now, message):
    with pytest.raises(MoEVAEValueError, match=message) as error:
        check_group_changes(saved, now, "run/x.pth")
    assert "\n" not in str(error.value)


def test_other_changes_are_allowed():
    check_group_changes([{"lr": 0.1, "amsgrad": False}],
                        [{"lr": 0.2, "amsgrad": False}], "x")
    check_group_changes([{"lr": 0.1}], [{"lr": 0.2, "amsgrad": True}], "x")
