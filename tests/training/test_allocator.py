import logging
import os
import platform
import subprocess
import sys
from unittest import mock

import pytest
import torch

from moevae.interfaces import DeepLearningInterface
from moevae.training import allocator
from tests.support.training import interface, train
from tests.test_interfaces import regression_manager

glibc_only = pytest.mark.skipif(platform.libc_ver()[0] != "glibc",
                                reason="malloc tuning is for glibc")

# Allocates, touches and frees 40 MB tensors (batch 500's expert outputs
# are 16 MB), four alive at a time; prints the page faults of 10 rounds.
# Untuned, glibc maps blocks over 32 MB afresh every time.
CHURN = """
import resource, torch
from moevae.training.allocator import keep_freed_memory
keep_freed_memory()
def churn():
    tensors = [torch.ones(10_000_000) for _ in range(4)]
    return sum(float(t[0]) for t in tensors)
for _ in range(5):
    churn()
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(10):
    churn()
print(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
"""


def page_faults(env_value):
    env = dict(os.environ, MOEVAE_KEEP_FREED_MEMORY=env_value)
    done = subprocess.run([sys.executable, "-c", CHURN], env=env, text=True,
                          capture_output=True, check=True)
    return int(done.stdout.strip())


@glibc_only
def test_freed_tensor_memory_is_reused_instead_of_faulted_in_again():
    untuned, tuned = page_faults("0"), page_faults("1")
    assert untuned > 10 * 4 * 9_000  # ~9,766 4-kB pages per tensor
    assert tuned < untuned / 10


@pytest.fixture
def fresh(monkeypatch):
    monkeypatch.setitem(allocator._state, "done", False)
    monkeypatch.delenv(allocator.ENV, raising=False)
    with mock.patch.object(allocator.ctypes, "CDLL") as cdll:
        cdll.return_value.mallopt.return_value = 1
        yield cdll.return_value.mallopt


@glibc_only
def test_sets_mmap_and_trim_thresholds_once(fresh):
    assert allocator.keep_freed_memory() is True
    fresh.assert_has_calls([
        mock.call(allocator.M_MMAP_THRESHOLD, allocator.MMAP_BYTES),
        mock.call(allocator.M_TRIM_THRESHOLD, allocator.HELD_BYTES)])
    assert allocator.keep_freed_memory() is False
    assert fresh.call_count == 2


def test_environment_variable_turns_it_off(fresh, monkeypatch):
    monkeypatch.setenv(allocator.ENV, "0")
    assert allocator.keep_freed_memory() is False
    fresh.assert_not_called()


@glibc_only
def test_a_refused_setting_is_reported(fresh):
    fresh.return_value = 0
    assert allocator.keep_freed_memory() is False


def test_cpu_training_tunes_malloc_when_asked():
    """An explicit option, applied when training starts (never by the
    constructor): the tuning is process-wide and cannot be undone."""
    with mock.patch("moevae.interfaces.tune_malloc", autospec=True) as tune:
        interface = DeepLearningInterface(
            model=torch.nn.Linear(3, 1), loss_name="MSELoss", device="cpu",
            keep_freed_memory=True)
        tune.assert_not_called()
        interface.training(regression_manager(), nb_epochs=1,
                           with_validation=False)
    tune.assert_called_once_with()


def test_constructing_and_training_change_no_process_state_unless_asked():
    handlers = list(logging.getLogger("moevae").handlers)
    with mock.patch("moevae.interfaces.tune_malloc", autospec=True) as tune:
        net = interface()
        assert logging.getLogger("moevae").handlers == handlers
        train(net, None, 1)
    assert logging.getLogger("moevae").handlers == handlers
    tune.assert_not_called()
