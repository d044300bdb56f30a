"""Crash, interrupt and resume: a resumed run ends exactly where an
uninterrupted one does (CPU), and no checkpoint is ever unreadable."""
import os
import random
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import torch

from moevae.cli import train as train_cli
from moevae.errors import TrainingInterrupted
from moevae.interfaces import DeepLearningInterface
from moevae.losses import ManagerLoss
from moevae.models import FusedManager
from moevae.training.checkpoint import list_checkpoints, load_checkpoint
from tests.support.helpers import seed_manager

pytestmark = pytest.mark.slow
SCRIPT = Path(__file__).parents[1] / "support" / "killable_train.py"
EPOCHS = 10


def options(mnist_dir, run_dir):
    return ["--epochs", str(EPOCHS), "--board", "off", "--seed", "3",
            "--datasetdir", str(mnist_dir), "--run-dir", str(run_dir),
            "--validation"]


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """Final weights of an uninterrupted run."""
    from tests.support.helpers import write_mnist_idx
    root = tmp_path_factory.mktemp("reference")
    mnist_dir = write_mnist_idx(root / "mnist")
    assert train_cli.main(options(mnist_dir, root / "run")) == 0
    return mnist_dir, final_state(root / "run")


def final_state(run_dir):
    newest = list_checkpoints(run_dir / "checkpoints")[0]
    assert newest.name == f"model_0_epoch_{EPOCHS - 1}.pth"
    return load_checkpoint(newest)


def assert_same_weights(state, expected):
    for key, tensor in expected["model"].items():
        assert torch.equal(state["model"][key], tensor), key
    assert (state["histories"]["train"]["history"][-1][1]["loss"] ==
        expected["histories"]["train"]["history"][-1][1]["loss"])


def assert_checkpoints_readable(run_dir):
    for path in list_checkpoints(run_dir / "checkpoints"):
        load_checkpoint(path)


class Run:
    """A training subprocess whose stderr is watched line by line."""

    def __init__(self, args, env=None):
        self.process = subprocess.Popen(
            [sys.executable, str(SCRIPT), *args], stderr=subprocess.PIPE,
            stdout=subprocess.DEVNULL, text=True,
            env=dict(os.environ, PYTHONUNBUFFERED="1", **(env or {})))
        self.lines = []
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self):
        for line in self.process.stderr:
            self.lines.append(line)

    def wait_for(self, text, timeout=120):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and self.process.poll() is None:
            if any(text in line for line in self.lines):
                return True
            time.sleep(0.02)
        return False

    def finish(self, timeout=300):
        """Wait for the exit and every line; close the pipe."""
        code = self.process.wait(timeout)
        self.reader.join(timeout=30)
        self.process.stderr.close()
        return code, "".join(self.lines)


def resume_to_the_end(run_dir):
    assert train_cli.main(["--resume", str(run_dir)]) == 0


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_sigkill_anywhere_then_resume_is_exact(tmp_path, reference, seed):
    mnist_dir, expected = reference
    run_dir = tmp_path / "run"
    rng = random.Random(seed)
    run = Run(options(mnist_dir, run_dir))
    assert run.wait_for(f"epoch {rng.randint(1, 4)}/{EPOCHS}")
    time.sleep(rng.uniform(0, 0.6))
    run.process.send_signal(signal.SIGKILL)
    assert run.finish()[0] == -signal.SIGKILL
    assert_checkpoints_readable(run_dir)
    resume_to_the_end(run_dir)
    assert_same_weights(final_state(run_dir), expected)


def test_sigkill_during_a_checkpoint_write(tmp_path, reference):
    mnist_dir, expected = reference
    run_dir = tmp_path / "run"
    # the writes: initial.pth, epochs 0 and 1, then the torn epoch 2
    run = Run(options(mnist_dir, run_dir), env={"KILL_IN_CHECKPOINT": "4"})
    assert run.finish()[0] == -signal.SIGKILL
    folder = run_dir / "checkpoints"
    assert [p.name for p in list_checkpoints(folder)] == [
        "model_0_epoch_1.pth", "model_0_epoch_0.pth"]
    assert list(folder.glob(".model_0_epoch_2.pth.*.tmp"))  # the torn write
    assert_checkpoints_readable(run_dir)
    resume_to_the_end(run_dir)
    assert not list(folder.glob(".*.tmp"))
    assert_same_weights(final_state(run_dir), expected)


def test_sigint_checkpoints_and_says_how_to_resume(tmp_path, reference):
    mnist_dir, expected = reference
    run_dir = tmp_path / "run"
    run = Run(options(mnist_dir, run_dir))
    assert run.wait_for(f"epoch 2/{EPOCHS}")
    run.process.send_signal(signal.SIGINT)
    code, stderr = run.finish()
    assert code == 128 + signal.SIGINT
    message = [line for line in stderr.splitlines() if "SIGINT" in line]
    assert len(message) == 1 and "Traceback" not in stderr
    assert (f"resume with `moevae train --resume {run_dir / 'checkpoints'}`"
        in message[0])
    assert_checkpoints_readable(run_dir)
    resume_to_the_end(run_dir)
    assert_same_weights(final_state(run_dir), expected)


def test_corrupt_newest_checkpoint_falls_back(tmp_path, reference, caplog):
    mnist_dir, expected = reference
    run_dir = tmp_path / "run"
    run = Run(options(mnist_dir, run_dir))
    assert run.wait_for(f"epoch 4/{EPOCHS}")
    run.process.kill()
    run.finish()
    newest = list_checkpoints(run_dir / "checkpoints")[0]
    newest.write_bytes(newest.read_bytes()[:1000])  # bit rot
    resume_to_the_end(run_dir)
    assert any("falling back to the previous checkpoint" in r.message
               for r in caplog.records)
    assert_same_weights(final_state(run_dir), expected)


def small_interface(seed=0):
    torch.manual_seed(seed)
    return DeepLearningInterface(model=FusedManager(), loss=ManagerLoss(),
                                 optimizer_name="Adam", learning_rate=1e-3)


def test_interrupt_mid_epoch_in_process(tmp_path, mnist_dir):
    def manager():
        return seed_manager(mnist_dir, batch_size=50)
    whole = small_interface()
    whole.training(manager(), nb_epochs=3, checkpointdir=str(tmp_path / "a"),
                   fold_index=0, with_validation=False)
    broken = small_interface()

    stopped = []

    def stop(signal_object):  # SIGTERM arrives during batch 5
        if signal_object.batch == 4 and not stopped:
            stopped.append(True)
            os.kill(os.getpid(), signal.SIGTERM)
    broken.add_observer("after_batch", stop)
    with pytest.raises(TrainingInterrupted, match="SIGTERM.*batch 5"):
        broken.training(manager(), nb_epochs=3,
                        checkpointdir=str(tmp_path / "b"), fold_index=0,
                        with_validation=False)
    assert (list_checkpoints(tmp_path / "b")[0].name ==
        "model_0_epoch_0_sample_250.pth")
    resumed = small_interface()
    history, _ = resumed.training(manager(), nb_epochs=3,
                                  checkpointdir=str(tmp_path / "b"),
                                  fold_index=0, with_validation=False,
                                  resume=True)
    for key, tensor in whole.model.state_dict().items():
        assert torch.equal(resumed.model.state_dict()[key], tensor), key
    assert history.steps == [(0, 0), (0, 1), (0, 2)]
