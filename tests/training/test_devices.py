"""The training device: names checked in one line, a missing GPU warns
once and gives the CPU."""
import warnings

import pytest
import torch

from moevae.errors import MoEVAEValueError
from moevae.training import devices
from moevae.training.devices import resolve_device


@pytest.fixture
def no_gpu(monkeypatch):
    monkeypatch.setattr(devices.torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(devices, "_warned_no_cuda", False)


@pytest.fixture
def two_gpus(monkeypatch):
    monkeypatch.setattr(devices.torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(devices.torch.cuda, "device_count", lambda: 2)


@pytest.mark.parametrize("device, use_cuda", [
    ("cpu", True), (None, False), ("auto", False), (torch.device("cpu"),
                                                    True)])
def test_the_cpu_without_a_gpu(no_gpu, device, use_cuda):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert resolve_device(device, use_cuda) == torch.device("cpu")


def test_cuda_without_a_gpu_warns_once_and_gives_the_cpu(no_gpu):
    with pytest.warns(RuntimeWarning, match="no GPU is available"):
        assert resolve_device("cuda", False) == torch.device("cpu")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert resolve_device(None, True) == torch.device("cpu")
        assert resolve_device("cuda:1", False) == torch.device("cpu")


@pytest.mark.parametrize("device, expected", [
    ("auto", "cuda"), ("cuda", "cuda"), ("cuda:1", "cuda:1"),
    (None, "cuda")])
def test_a_visible_gpu_is_given(two_gpus, device, expected):
    assert resolve_device(device, True) == torch.device(expected)


@pytest.mark.parametrize("device", ["cuda:2", "cuda:7"])
def test_a_gpu_index_not_visible_is_refused_in_one_line(two_gpus, device):
    with pytest.raises(MoEVAEValueError, match=rf"^device='{device}': "
                       r"expected cuda:0 to cuda:1 \(2 GPU\(s\) visible"):
        resolve_device(device, True)


@pytest.mark.parametrize("device", ["gpu", "CPU", "cuda:x", "cuda:-1",
                                    "mps0", ""])
def test_an_unknown_name_is_refused_in_one_line(no_gpu, device):
    with pytest.raises(MoEVAEValueError) as error:
        resolve_device(device, False)
    assert str(error.value) == (f"device={device!r}: expected 'auto', "
                                "'cpu', 'cuda' or 'cuda:N'")
