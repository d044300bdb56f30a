"""Snapshots of an optimizer's and a scheduler's hyper-parameters, and
putting back the ones a user changed on resume (see moevae.training.run)."""
import logging
from typing import Any, Dict, List

import torch

from ..errors import bad_value

logger = logging.getLogger("moevae")
# scheduler state that is progress, not a setting the user chose
SCHEDULER_PROGRESS = {"last_epoch", "_step_count", "_last_lr", "base_lrs",
                      "_get_lr_called_within_step", "_is_initial", "best",
                      "num_bad_epochs", "cooldown_counter", "T_cur", "T_i",
                      "_schedulers", "last_lr"}


def plain(value: Any) -> Any:
    """A setting as a comparable plain value (tuples -> lists)."""
    if isinstance(value, (list, tuple)):
        return [plain(item) for item in value]
    if torch.is_tensor(value):
        return value.tolist()
    return value


def group_settings(optimizer: torch.optim.Optimizer) -> List[Dict[str, Any]]:
    """Each parameter group's hyper-parameters (lr, betas, weight decay...)."""
    return [{key: plain(value) for key, value in group.items()
             if key not in ("params", "initial_lr") and
             isinstance(plain(value), (int, float, bool, str, list,
                                       type(None)))}
            for group in optimizer.param_groups]


def apply_changed_groups(optimizer: torch.optim.Optimizer,
                         saved: List[Dict[str, Any]],
                         now: List[Dict[str, Any]]) -> List[str]:
    """Put back the hyper-parameters given now that differ from the ones
    the saved run was built with (the loaded state has the saved ones);
    return the names of those that changed (see check_group_changes)."""
    changed = []
    for index, (group, old, new) in enumerate(zip(optimizer.param_groups,
                                                  saved, now)):
        for key, value in new.items():
            if key in old and old[key] != value:
                changed.append(key)
                logger.info("resume: %s %r in parameter group %d (the saved "
                            "run had %r)", key, value, index, old[key])
                group[key] = type(group[key])(value) if isinstance(
                    group[key], tuple) else value
                if key == "lr" and "initial_lr" in group:
                    group["initial_lr"] = value
    return changed


def scheduler_settings(scheduler: Any) -> Dict[str, Any]:
    if scheduler is None:
        return {"class": None, "settings": {}}
    state = scheduler.state_dict() if hasattr(scheduler, "state_dict") else {}
    return {"class": type(scheduler).__name__,
            "settings": {key: plain(value) for key, value in state.items()
                         if key not in SCHEDULER_PROGRESS and
                         isinstance(plain(value), (int, float, bool, str,
                                                   list, type(None)))}}


# settings that change what the optimizer keeps per parameter: a saved
# state cannot be continued with another value
STATE_SHAPING = ("amsgrad",)


def check_group_changes(saved: List[Dict[str, Any]],
                        now: List[Dict[str, Any]], source: str) -> None:
    """Refuse, in one line, group changes no resumed state can follow."""
    if len(saved) != len(now):
        raise bad_value("optimizer", f"{len(now)} parameter group(s)",
                        f"{len(saved)}, as in {source}")
    for index, (old, new) in enumerate(zip(saved, now)):
        for key in STATE_SHAPING:
            if key in old and key in new and old[key] != new[key]:
                raise bad_value(key, new[key], f"{old[key]} as in {source} "
                                f"(parameter group {index}): the saved "
                                "optimizer state has no room for another "
                                "value")
