"""Checkpoint files: atomic, safe to load, refused when they do not fit."""
import errno
import os
import pickle
import tempfile

import numpy as np
import pytest
import torch

from moevae.errors import CheckpointError, CheckpointWriteError, MoEVAEError
from moevae.interfaces import DeepLearningInterface
from moevae.models import FusedManager, build_manager
from moevae.training import checkpoint as ckpt
from tests.test_interfaces import linear_interface, regression_manager


def train_with_failing_save(tmp_path, monkeypatch, error):
    """Two good epochs, then every checkpoint write fails with ``error``."""
    interface = linear_interface()
    original = tempfile.mkstemp
    epochs = []
    interface.add_observer("after_epoch", lambda s: epochs.append(s.epoch))

    def failing(*args, **kwargs):
        if len(epochs) > 2:
            raise error
        return original(*args, **kwargs)
    monkeypatch.setattr(tempfile, "mkstemp", failing)
    with pytest.raises(CheckpointWriteError) as raised:
        interface.training(regression_manager(), nb_epochs=5,
                           checkpointdir=str(tmp_path), with_validation=False)
    return str(raised.value)


def test_disk_full_is_clear_and_keeps_the_previous(tmp_path, monkeypatch):
    message = train_with_failing_save(tmp_path, monkeypatch, OSError(
        errno.ENOSPC, "No space left on device"))
    assert ("cannot write checkpoint" in message and "model_0_epoch_2" in
        message and "No space left on device" in message)
    assert "model_0_epoch_1.pth is intact" in message
    assert [p.name for p in ckpt.list_checkpoints(tmp_path)] == [
        "model_0_epoch_1.pth", "model_0_epoch_0.pth"]
    assert (ckpt.load_checkpoint(tmp_path / "model_0_epoch_1.pth")["epoch"]
        == 1)
    assert not list(tmp_path.glob(".*.tmp"))


def test_read_only_folder(tmp_path, monkeypatch):
    message = train_with_failing_save(tmp_path, monkeypatch, OSError(
        errno.EROFS, "Read-only file system"))
    assert "Read-only file system" in message


def test_partial_write_never_replaces(tmp_path):
    path = ckpt.save_checkpoint(tmp_path, {"model": {}}, 0, 0)
    before = path.read_bytes()

    class Boom(Exception):
        pass

    def writer(handle):
        handle.write(b"half")
        raise Boom()
    with pytest.raises(Boom):
        ckpt.atomic_save(path, writer)
    assert path.read_bytes() == before and os.listdir(tmp_path) == [path.name]


@pytest.mark.filterwarnings("ignore:Detected pickle protocol")  # the bait
def test_loading_never_runs_code(tmp_path):
    class Exploit:
        def __reduce__(self):
            return (os.system, ("echo pwned > " + str(tmp_path / "x"),))
    evil = tmp_path / "model_0_epoch_0.pth"
    evil.write_bytes(pickle.dumps({"model": Exploit()}))
    with pytest.raises(CheckpointError, match="unreadable checkpoint"):
        ckpt.load_checkpoint(evil)
    assert not (tmp_path / "x").exists()


def test_shape_mismatch_names_the_parameter(tmp_path):
    torch.save({"model": FusedManager(hidden_dim=16).state_dict()},
               tmp_path / "small.pth")
    with pytest.raises(CheckpointError, match=r"'in_weight' has shape "
                       r"\(176, 784\) in the checkpoint but \(1408, 784\)"):
        DeepLearningInterface(model=FusedManager(), loss=lambda *a: 0,
                              pretrained=str(tmp_path / "small.pth"))
    torch.save(torch.nn.Linear(2, 2).state_dict(), tmp_path / "other.pth")
    with pytest.raises(MoEVAEError, match="'dec_hidden_bias' is missing "):
        DeepLearningInterface(model=FusedManager(), loss=lambda *a: 0,
                              pretrained=str(tmp_path / "other.pth"))


def test_pretrained_accepts_either_layout(tmp_path):
    torch.manual_seed(0)
    seed_model = build_manager()
    torch.save(seed_model.state_dict(), tmp_path / "seed.pth")
    interface = DeepLearningInterface(model=FusedManager(), loss=lambda *a: 0,
                                      pretrained=str(tmp_path / "seed.pth"))
    np.testing.assert_array_equal(
        interface.model._experts[2].decoder(torch.ones(1, 20)).detach(),
        seed_model._experts[2].decoder(torch.ones(1, 20)).detach())


def test_missing_checkpoint_folder_for_resume():
    with pytest.raises(MoEVAEError, match="resume=True: expected a "
                       "checkpointdir"):
        linear_interface().training(regression_manager(), nb_epochs=1,
                                    resume=True)


def test_an_epoch_end_is_newer_than_any_point_within_it(tmp_path):
    for name in ("model_0_epoch_1_sample_40.pth", "model_0_epoch_1.pth",
                 "model_0_epoch_0.pth", "model_0_epoch_2_sample_20.pth",
                 "model_0_epoch_0_batch_3.pth"):
        (tmp_path / name).write_bytes(b"x")
    assert [p.name for p in ckpt.list_checkpoints(tmp_path)] == [
        "model_0_epoch_2_sample_20.pth", "model_0_epoch_1.pth",
        "model_0_epoch_1_sample_40.pth", "model_0_epoch_0.pth",
        "model_0_epoch_0_batch_3.pth"]
    ckpt.prune(tmp_path, keep_last=3)  # superseded mid-epoch ones go first
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "model_0_epoch_0.pth", "model_0_epoch_1.pth",
        "model_0_epoch_2_sample_20.pth"]
