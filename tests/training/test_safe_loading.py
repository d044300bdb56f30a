"""load_checkpoint on pynet-era files: numpy values, whole pickled models."""
import numpy as np
import pytest
import torch

from moevae.errors import CheckpointError
from moevae.training.checkpoint import load_checkpoint, model_state


class Custom:
    """A class a weights-only load must refuse."""


def test_numpy_scalars_and_arrays_load_without_opt_in(tmp_path):
    model = torch.nn.Linear(3, 2)
    path = tmp_path / "pynet.pth"
    torch.save({"model": model.state_dict(), "epoch": np.int64(7),
                "loss": np.float32(0.25), "flags": np.arange(3),
                "done": np.bool_(True)}, path)
    before = set(map(str, torch.serialization.get_safe_globals()))
    payload = load_checkpoint(path)
    assert payload["epoch"] == 7 and payload["loss"] == np.float32(0.25)
    np.testing.assert_array_equal(payload["flags"], np.arange(3))
    assert torch.equal(model_state(payload)["weight"], model.weight)
    # scoped: nothing registered process-wide
    assert set(map(str, torch.serialization.get_safe_globals())) == before


@pytest.mark.parametrize("legacy", [False, True])
def test_whole_pickled_model_is_one_actionable_line(tmp_path, legacy):
    path = tmp_path / "whole.pth"
    torch.save(torch.nn.Linear(3, 2), path,
               _use_new_zipfile_serialization=not legacy)
    with pytest.raises(CheckpointError) as error:
        load_checkpoint(path)
    message = str(error.value)
    assert "\n" not in message and "\x1b" not in message
    assert "unreadable" not in message
    assert "torch.nn.modules.linear.Linear" in message
    assert "torch.save(model)" in message
    assert (f"torch.load({str(path)!r}, weights_only=False).state_dict()"
        in message)


def test_other_pickled_objects_are_named(tmp_path):
    path = tmp_path / "custom.pth"
    torch.save({"model": {}, "extra": Custom()}, path)
    with pytest.raises(CheckpointError, match=r"pickled Python objects "
                       r"\(tests\.training\.test_safe_loading\.Custom\)"):
        load_checkpoint(path)


def test_trusted_opt_in_loads_a_whole_model(tmp_path):
    model = torch.nn.Linear(3, 2)
    path = tmp_path / "whole.pth"
    torch.save(model, path)
    state = load_checkpoint(path, trusted=True)
    assert set(state) == {"weight", "bias"}
    assert torch.equal(model_state(state)["bias"], model.bias)


def test_corrupt_file_message_is_one_clean_line(tmp_path):
    path = tmp_path / "cut.pth"
    torch.save({"w": torch.zeros(100)}, path)
    path.write_bytes(path.read_bytes()[:50])
    with (pytest.raises(CheckpointError, match="unreadable checkpoint") as
            error):
        load_checkpoint(path)
    assert "\n" not in str(error.value)


def test_pretrained_takes_pynet_era_files(tmp_path):
    from moevae.interfaces import DeepLearningInterface
    source = torch.nn.Linear(3, 2)
    weights = tmp_path / "weights.pth"
    torch.save({"model": source.state_dict(), "epoch": np.int64(4)}, weights)
    interface = DeepLearningInterface(model=torch.nn.Linear(3, 2),
                                      loss=torch.nn.MSELoss(),
                                      pretrained=str(weights))
    assert torch.equal(interface.model.weight, source.weight)
    whole = tmp_path / "whole.pth"
    torch.save(source, whole)
    with (pytest.raises(CheckpointError, match="torch.save\\(model\\)") as
            error):
        DeepLearningInterface(model=torch.nn.Linear(3, 2),
                              loss=torch.nn.MSELoss(), pretrained=str(whole))
    assert "\n" not in str(error.value)
