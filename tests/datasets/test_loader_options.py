"""The DataLoader options a DataManager takes, checked up front."""
import pytest
import torch

from moevae.datasets.loader_options import (
    DATALOADER_ARGS,
    ORDER_OPTIONS,
    WORKER_OPTIONS,
    check_dataloader_kwargs,
)
from moevae.errors import MoEVAETypeError, MoEVAEValueError


def test_the_option_sets_split_the_dataloader_arguments():
    assert {"drop_last", "shuffle", "generator"} == ORDER_OPTIONS
    assert {"num_workers", "pin_memory", "timeout"} <= WORKER_OPTIONS
    assert not {"dataset", "batch_size", "sampler", "batch_sampler",
                "collate_fn"} & DATALOADER_ARGS


@pytest.mark.parametrize("options", [
    {}, {"drop_last": True, "shuffle": False},
    {"generator": torch.Generator().manual_seed(1)},
    {"num_workers": 0, "pin_memory": False}, {"num_workers": 2,
                                              "persistent_workers": True}])
def test_honoured_options_are_returned_as_given(options):
    assert check_dataloader_kwargs(options) is options


@pytest.mark.parametrize("name", ["batch_sampler", "collate_fn"])
def test_batching_options_are_refused_naming_sampler(name):
    with pytest.raises(MoEVAEValueError, match=rf"^{name}=.*: expected not "
                       r"given: moevae draws and collates the batches "
                       r"itself \(use sampler=\)$"):
        check_dataloader_kwargs({name: None})


@pytest.mark.parametrize("name", ["shufle", "batchsize", "dataset"])
def test_an_unknown_option_is_named_with_the_known_ones(name):
    with pytest.raises(MoEVAEValueError, match=rf"^unknown DataManager "
                       rf"argument '{name}': expected pynet's arguments or "
                       r"one of the DataLoader options \[.*'drop_last'"):
        check_dataloader_kwargs({name: 1})


@pytest.mark.parametrize("options, message", [
    ({"generator": 3}, r"generator=3 \(int\): expected a torch.Generator"),
    ({"shuffle": 1}, r"shuffle=1 \(int\): expected True or False"),
    ({"drop_last": "yes"}, r"drop_last='yes' \(str\): expected True or")])
def test_order_options_of_the_wrong_type_are_refused(options, message):
    with pytest.raises(MoEVAETypeError, match=message):
        check_dataloader_kwargs(options)


@pytest.mark.parametrize("options, reason", [
    ({"num_workers": -1}, "num_workers option should be non-negative"),
    ({"num_workers": 0, "persistent_workers": True},
     "persistent_workers option needs num_workers > 0"),
    ({"prefetch_factor": 2}, "prefetch_factor")])
def test_worker_options_torch_refuses_are_one_line(options, reason):
    with pytest.raises(MoEVAEValueError) as error:
        check_dataloader_kwargs(options)
    message = str(error.value)
    assert message.startswith(f"DataLoader options {options}: ")
    assert reason in message and "\n" not in message
