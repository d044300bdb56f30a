"""The torch DataLoader options, the sampler and the transforms a
DataManager takes, checked up front.

The batch-order options (drop_last, shuffle, generator) apply to both
batching paths; the worker options (num_workers, pin_memory...) run the
per-sample path through a torch DataLoader. batch_sampler and collate_fn
are refused: moevae draws and collates the batches itself.
"""
import inspect
import math
from typing import Any, Callable, Dict, List, Optional, Sequence

import torch
from torch.utils.data import DataLoader, Sampler, TensorDataset

from ..errors import (
    MoEVAEValueError,
    bad_type,
    bad_value,
    check_positive_int,
)

# DataLoader options: the batch order ones apply to both batching paths;
# the worker ones run the per-sample path through a torch DataLoader.
ORDER_OPTIONS = {"drop_last", "shuffle", "generator"}
WORKER_OPTIONS = (set(inspect.signature(DataLoader).parameters) - {
    "dataset", "batch_size", "sampler", "batch_sampler", "collate_fn"} -
    ORDER_OPTIONS)
DATALOADER_ARGS = ORDER_OPTIONS | WORKER_OPTIONS


def check_dataloader_kwargs(kwargs: Dict[str, Any]) -> Dict[str, Any]:
    """DataLoader options moevae honours; one line for any other."""
    for name in sorted(kwargs):
        if name in ("batch_sampler", "collate_fn"):
            raise bad_value(name, kwargs[name], "not given: moevae draws "
                            "and collates the batches itself (use sampler=)")
        if name not in DATALOADER_ARGS:
            raise MoEVAEValueError(
                f"unknown DataManager argument {name!r}: expected pynet's "
                "arguments or one of the DataLoader options "
                f"{sorted(DATALOADER_ARGS)}")
    if "generator" in kwargs and not isinstance(kwargs["generator"],
                                                torch.Generator):
        raise bad_type("generator", kwargs["generator"], "a torch.Generator")
    for name in ("drop_last", "shuffle"):
        if name in kwargs and not isinstance(kwargs[name], bool):
            raise bad_type(name, kwargs[name], "True or False")
    workers = {name: value for name, value in kwargs.items()
               if name in WORKER_OPTIONS}
    _check_worker_options(workers)
    if workers:
        try:  # torch checks the options when a DataLoader is built
            DataLoader(TensorDataset(torch.zeros(1)), **workers)
        except (ValueError, TypeError) as error:
            reason = " ".join(str(error).split())
            raise MoEVAEValueError(f"DataLoader options {workers}: "
                                   f"{reason}") from None
    return kwargs


BOOL_WORKER_OPTIONS = ("pin_memory", "persistent_workers", "in_order")


def _check_worker_options(workers: Dict[str, Any]) -> None:
    """Types and ranges torch only finds when a batch is drawn; one line."""
    if "num_workers" in workers:
        check_positive_int("num_workers", workers["num_workers"], minimum=0)
    processes = workers.get("num_workers", 0)
    for name in BOOL_WORKER_OPTIONS:
        if name in workers and not isinstance(workers[name], bool):
            raise bad_type(name, workers[name], "True or False")
    if "timeout" in workers:
        timeout = workers["timeout"]
        if (isinstance(timeout, bool)
                or not isinstance(timeout, (int, float))):
            raise bad_type("timeout", timeout, "a number of seconds >= 0")
        if not (math.isfinite(timeout) and timeout >= 0):
            raise bad_value("timeout", timeout, "a number of seconds >= 0")
        if timeout and not processes:
            raise bad_value("timeout", timeout, "0 when num_workers=0 "
                            "(a timeout applies to worker processes)")
    if workers.get("prefetch_factor") is not None:
        check_positive_int("prefetch_factor", workers["prefetch_factor"])
        if not processes:
            raise bad_value("prefetch_factor", workers["prefetch_factor"],
                            "None when num_workers=0 (it counts batches "
                            "per worker process)")
    init = workers.get("worker_init_fn")
    if init is not None and not callable(init):
        raise bad_type("worker_init_fn", init, "a function of the worker id "
                       "or None")
    device = workers.get("pin_memory_device", "")
    if not isinstance(device, str):
        raise bad_type("pin_memory_device", device, "a device name such as "
                       "'cuda'")


SAMPLERS = (None, "random", "weighted_random")


def check_sampler(sampler: Any, stratify_label: Optional[str]) -> Any:
    """None, 'random', 'weighted_random' (with a stratify_label) or a
    torch Sampler class. Raises MoEVAEValueError."""
    if inspect.isclass(sampler) and issubclass(sampler, Sampler):
        return sampler
    if sampler not in SAMPLERS:
        raise bad_value("sampler", sampler, "None, 'random', "
                        "'weighted_random' or a torch Sampler class")
    if sampler == "weighted_random" and stratify_label is None:
        raise bad_value("sampler", sampler,
                        "a stratify_label too (the weights come from it)")
    return sampler


def check_transforms(name: str, transforms: Optional[Sequence[Callable]]
                     ) -> List[Callable]:
    """The transforms as a list of callables (none: []). Raises
    MoEVAETypeError."""
    if transforms is None:
        return []
    if (callable(transforms) or isinstance(transforms, (str, bytes)) or
            not hasattr(transforms, "__iter__")):
        raise bad_type(name, transforms, "a list of callables")
    transforms = list(transforms)
    for transform in transforms:
        if not callable(transform):
            raise bad_type(name, transform, "a list of callables")
    return transforms
