"""fp32, TF32 and bf16: checked in one line, flags put back after."""
import warnings

import pytest
import torch

from moevae.errors import MoEVAEValueError
from moevae.training.precision import (
    PRECISIONS,
    autocast,
    check_precision,
    full_precision,
    precision_flags,
)
from tests.support.training import interface, train

CPU = torch.device("cpu")
CUDA = torch.device("cuda")


def tf32_flags():
    return (torch.backends.cuda.matmul.allow_tf32,
            torch.backends.cudnn.allow_tf32)


@pytest.mark.parametrize("precision", ["fp16", "FP32", "", None, 32])
def test_an_unknown_precision_is_refused_in_one_line(precision):
    with pytest.raises(MoEVAEValueError) as error:
        check_precision(precision, CPU)
    message = str(error.value)
    assert message.startswith(f"precision={precision!r}: expected one of")
    assert "\n" not in message and all(name in message for name in PRECISIONS)


def test_fp32_is_silent_and_tf32_on_the_cpu_warns():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        check_precision("fp32", CPU)
        check_precision("tf32", CUDA)  # the device need not be present
    with pytest.warns(RuntimeWarning, match="only changes CUDA matmuls"):
        check_precision("tf32", CPU)


@pytest.mark.parametrize("precision", ["fp32", "bf16"])
def test_only_tf32_touches_the_flags(precision):
    before = tf32_flags()
    with precision_flags(precision, CPU):
        assert tf32_flags() == before
    assert tf32_flags() == before


def test_tf32_flags_are_set_inside_and_put_back_even_on_error():
    before = tf32_flags()
    with pytest.raises(RuntimeError, match="boom"), precision_flags("tf32", CUDA):
        assert tf32_flags() == (True, True)
        raise RuntimeError("boom")
    assert tf32_flags() == before


def test_tf32_flags_are_put_back_after_training():
    saved = tf32_flags()
    seen = []
    with pytest.warns(RuntimeWarning, match="only changes CUDA"):
        net = interface(precision="tf32")
    net.add_observer("after_epoch", lambda s: seen.append(tf32_flags()))
    train(net, None, 1)
    assert seen == [(True, True)]
    assert tf32_flags() == saved


def test_bf16_autocast_computes_matmuls_in_bfloat16_only_when_asked():
    a, b = torch.rand(4, 4), torch.rand(4, 4)
    with autocast("bf16", CPU):
        assert (a @ b).dtype == torch.bfloat16
    for precision in ("fp32", "tf32"):
        with autocast(precision, CPU):
            assert (a @ b).dtype == torch.float32


@pytest.mark.parametrize("dtype, expected", [
    (torch.bfloat16, torch.float32), (torch.float16, torch.float32),
    (torch.float32, torch.float32), (torch.float64, torch.float64),
    (torch.int64, torch.int64)])
def test_full_precision_widens_half_tensors_only(dtype, expected):
    tensor = torch.ones(3, dtype=dtype)
    widened = full_precision(tensor)
    assert widened.dtype == expected
    if dtype == expected:
        assert widened is tensor
    assert torch.equal(widened.double(), torch.ones(3, dtype=torch.float64))
