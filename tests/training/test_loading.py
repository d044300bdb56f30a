"""The one model loader: a file, a checkpoint folder or a run folder."""
import pytest
import torch

from moevae.errors import CheckpointError
from moevae.models import FusedManager
from moevae.models.convolutional import ConvGatedManager
from moevae.models.experts import Manager
from moevae.training.checkpoint import save_checkpoint
from moevae.training.loading import (
    checkpoint_candidates,
    find_checkpoint,
    load_trained_model,
    model_from_state,
    model_input_dim,
)


def fused(seed=0):
    torch.manual_seed(seed)
    return FusedManager(16, 6, 2, 3)


@pytest.mark.parametrize("make, kind", [
    (lambda: fused(), FusedManager),
    (lambda: fused().to_manager(), Manager),
    (lambda: ConvGatedManager(16, 6, 2, 3), ConvGatedManager)])
def test_the_model_is_rebuilt_from_the_weight_shapes(make, kind):
    model = make()
    rebuilt = model_from_state(model.state_dict(), "x.pth")
    assert type(rebuilt) is kind and not rebuilt.training
    assert model_input_dim(rebuilt) == 16
    assert all(torch.equal(a, b) for a, b in zip(
        model.state_dict().values(), rebuilt.state_dict().values()))


@pytest.mark.parametrize("state", [{}, {"weight": torch.zeros(2)},
                                   {"in_weight": torch.zeros(2, 2)}])
def test_other_weights_are_refused_in_one_line(state):
    with pytest.raises(CheckpointError, match=r"^x.pth: not a mixture-of-"
                       r"experts checkpoint \(no 'in_weight' nor"):
        model_from_state(state, "x.pth")


def test_a_folder_prefers_best_then_the_newest(tmp_path):
    folder = tmp_path / "run" / "checkpoints"
    folder.mkdir(parents=True)
    first = save_checkpoint(folder, {"model": fused().state_dict()}, 0, 1)
    second = save_checkpoint(folder, {"model": fused().state_dict()}, 0, 2)
    assert checkpoint_candidates(folder) == [second, first]
    assert find_checkpoint(tmp_path / "run") == second  # its checkpoints/
    assert checkpoint_candidates(first) == [first]
    (folder / "best.pth").write_bytes(second.read_bytes())
    assert find_checkpoint(folder) == folder / "best.pth"


def test_missing_or_empty_is_one_line(tmp_path):
    with pytest.raises(CheckpointError, match="no such checkpoint file"):
        checkpoint_candidates(tmp_path / "gone")
    with pytest.raises(CheckpointError, match=r"no checkpoint in this folder "
                       r"\(expected best.pth or model_<fold>_epoch_"):
        checkpoint_candidates(tmp_path)


def test_an_unreadable_checkpoint_is_skipped_with_a_warning(tmp_path):
    good = save_checkpoint(tmp_path, {"model": fused(1).state_dict()}, 0, 1)
    (tmp_path / "best.pth").write_bytes(b"torn")
    warnings = []
    used, model = load_trained_model(tmp_path, torch.device("cpu"),
                                     warn=warnings.append)
    assert used == good and not model.training
    assert torch.equal(model.in_weight, fused(1).in_weight)
    assert len(warnings) == 1 and warnings[0].endswith(f"skipped, using "
                                                       f"{good}")
    (tmp_path / good.name).write_bytes(b"torn too")
    with pytest.raises(CheckpointError, match="no checkpoint in this folder "
                       "loads"):
        load_trained_model(tmp_path, torch.device("cpu"))
    with pytest.raises(CheckpointError):  # a file alone: its own error
        load_trained_model(good, torch.device("cpu"))
