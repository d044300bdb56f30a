"""The torch DataLoader options a DataManager takes, checked up front.

The batch-order options (drop_last, shuffle, generator) apply to both
batching paths; the worker options (num_workers, pin_memory...) run the
per-sample path through a torch DataLoader. batch_sampler and collate_fn
are refused: moevae draws and collates the batches itself.
"""
import inspect
from typing import Any, Dict

import torch
from torch.utils.data import DataLoader, TensorDataset

from ..errors import MoEVAEValueError, bad_type, bad_value

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
    if workers:
        try:  # torch checks the options when a DataLoader is built
            DataLoader(TensorDataset(torch.zeros(1)), **workers)
        except (ValueError, TypeError) as error:
            reason = " ".join(str(error).split())
            raise MoEVAEValueError(f"DataLoader options {workers}: "
                                   f"{reason}") from None
    return kwargs
