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
    ({"num_workers": 0, "persistent_workers": True},
     "persistent_workers option needs num_workers > 0"),
    ({"num_workers": 1, "multiprocessing_context": "bad"},
     "multiprocessing_context option should specify a valid start method")])
def test_worker_options_torch_refuses_are_one_line(options, reason):
    with pytest.raises(MoEVAEValueError) as error:
        check_dataloader_kwargs(options)
    message = str(error.value)
    assert message.startswith(f"DataLoader options {options}: ")
    assert reason in message and "\n" not in message


@pytest.mark.parametrize("options, error, message", [
    # the cases: torch's raw errors when a batch was drawn
    ({"timeout": 5}, MoEVAEValueError,
     r"^timeout=5: expected 0 when num_workers=0 \(a timeout applies to "
     r"worker processes\)$"),
    ({"pin_memory": "yes"}, MoEVAETypeError,
     r"^pin_memory='yes' \(str\): expected True or False$"),
    ({"num_workers": 1.5}, MoEVAETypeError,
     r"^num_workers=1.5 \(float\): expected an integer >= 0$"),
    ({"num_workers": -1}, MoEVAEValueError,
     r"^num_workers=-1: expected an integer >= 0$"),
    ({"num_workers": "2"}, MoEVAETypeError,
     r"^num_workers='2' \(str\): expected an integer >= 0$"),
    ({"timeout": None, "num_workers": 1}, MoEVAETypeError,
     r"^timeout=None \(NoneType\): expected a number of seconds >= 0$"),
    # two more of the same kind
    ({"timeout": float("nan"), "num_workers": 1}, MoEVAEValueError,
     r"^timeout=nan: expected a number of seconds >= 0$"),
    ({"num_workers": 1, "prefetch_factor": 0}, MoEVAEValueError,
     r"^prefetch_factor=0: expected an integer >= 1$"),
    ({"prefetch_factor": 2}, MoEVAEValueError,
     r"^prefetch_factor=2: expected None when num_workers=0"),
    ({"num_workers": 1, "worker_init_fn": 3}, MoEVAETypeError,
     r"^worker_init_fn=3 \(int\): expected a function of the worker id"),
    ({"num_workers": 1, "persistent_workers": "x"}, MoEVAETypeError,
     r"^persistent_workers='x' \(str\): expected True or False$"),
    ({"num_workers": True}, MoEVAETypeError,
     r"^num_workers=True \(bool\): expected an integer >= 0$")])
def test_worker_options_torch_only_checks_late_are_one_line(options, error,
                                                            message):
    """Refused up front, not when the first batch is drawn."""
    with pytest.raises(error, match=message):
        check_dataloader_kwargs(options)


def test_a_positive_timeout_with_workers_is_honoured():
    options = {"num_workers": 1, "timeout": 2.5, "pin_memory": True}
    assert check_dataloader_kwargs(options) is options
