"""Checkpoint names, read without torch, described as the log counts."""
from pathlib import Path

import pytest

from moevae.training.names import (
    checkpoint_place,
    describe_checkpoint,
    list_checkpoints,
)


@pytest.mark.parametrize("name, epochs, expected", [
    ("model_0_epoch_0.pth", 1, "model_0_epoch_0.pth (fold 0, after epoch 1 "
     "of 1)"),
    ("model_3_epoch_9.pth", None, "model_3_epoch_9.pth (fold 3, after "
     "epoch 10)"),
    ("model_0_epoch_4_sample_250.pth", 20, "model_0_epoch_4_sample_250.pth "
     "(fold 0, 250 samples into epoch 5 of 20)"),
    ("best.pth", 3, "best.pth"),
])
def test_a_checkpoint_is_described_with_epochs_from_1(name, epochs,
                                                      expected):
    assert describe_checkpoint(Path("runs/x") / name, epochs) == expected


def test_trained_epochs_and_order_come_from_the_names(tmp_path):
    for name in ("model_0_epoch_1.pth", "model_0_epoch_2_sample_50.pth",
                 "model_0_epoch_10.pth", "notes.pth"):
        (tmp_path / name).write_bytes(b"")
    assert [p.name for p in list_checkpoints(tmp_path)] == [
        "model_0_epoch_10.pth", "model_0_epoch_2_sample_50.pth",
        "model_0_epoch_1.pth"]
    assert checkpoint_place(tmp_path / "model_0_epoch_10.pth").trained == 11
    assert checkpoint_place(tmp_path / "model_0_epoch_2_sample_50.pth"
                            ).trained == 2
    assert checkpoint_place(tmp_path / "notes.pth") is None


def test_a_file_of_another_fold_than_asked_is_refused(tmp_path):
    import pytest

    from moevae.errors import CheckpointError
    from moevae.training.names import checkpoint_candidates
    for name in ("model_1_epoch_1.pth", "best_1.pth"):
        path = tmp_path / name
        path.write_bytes(b"x")
        assert checkpoint_candidates(path) == [path]
        assert checkpoint_candidates(path, fold=1) == [path]
        with pytest.raises(CheckpointError, match="a checkpoint of fold 1, "
                           "not of fold 2"):
            checkpoint_candidates(path, fold=2)
    other = tmp_path / "weights.pth"  # a name without a fold
    other.write_bytes(b"x")
    assert checkpoint_candidates(other, fold=3) == [other]
