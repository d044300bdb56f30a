import pytest
import torch

from moevae.cli.checkpoints import choose_device
from moevae.errors import CheckpointError, MoEVAEValueError
from moevae.models import FusedManager, Manager
from moevae.training.checkpoint import save_checkpoint
from moevae.training.loading import find_checkpoint, load_trained_model


@pytest.fixture
def folder(tmp_path):
    """Checkpoints of epochs 2, 10 and 9 (numeric order, not by name)."""
    state = {"model": FusedManager(784, 8, 2, 2).state_dict()}
    for epoch in (2, 10, 9):
        save_checkpoint(tmp_path, state, fold=0, epoch=epoch)
    (tmp_path / "notes.pth").write_bytes(b"not a checkpoint name")
    return tmp_path


def test_a_file_is_itself(folder):
    assert (find_checkpoint(folder / "model_0_epoch_2.pth") ==
        folder / "model_0_epoch_2.pth")


def test_a_folder_gives_its_newest_then_its_best(folder):
    assert find_checkpoint(folder) == folder / "model_0_epoch_10.pth"
    (folder / "best.pth").write_bytes((folder / "model_0_epoch_9.pth"
                                       ).read_bytes())
    assert find_checkpoint(folder) == folder / "best.pth"


def test_a_run_folder_gives_its_checkpoints(folder):
    run = folder.parent
    (run / "checkpoints").symlink_to(folder)
    (run / "config.json").write_text("{}")
    assert find_checkpoint(run) == run / "checkpoints" / "model_0_epoch_10.pth"


@pytest.mark.parametrize("setup, message", [
    ("missing", "no such checkpoint file or folder"),
    ("empty", "no checkpoint in this folder (expected best.pth or "
              "model_<fold>_epoch_<epoch>.pth, here or in checkpoints/)"),
])
def test_no_checkpoint_is_one_line(tmp_path, setup, message):
    target = tmp_path / "run"
    if setup == "empty":
        (target / "checkpoints").mkdir(parents=True)
        (target / "checkpoints" / "model.pth").write_bytes(b"")
    with pytest.raises(CheckpointError, match=message.replace(
            "(", r"\(").replace(")", r"\)")) as caught:
        find_checkpoint(target)
    assert "\n" not in str(caught.value)


def test_either_layout_loads_in_eval_mode(tmp_path):
    fused = FusedManager(784, 8, 2, 2)
    torch.save(fused.to_manager().state_dict(), tmp_path / "seed.pth")
    torch.save({"model": fused.state_dict()}, tmp_path / "fused.pth")
    for name, kind in (("seed.pth", Manager), ("fused.pth", FusedManager)):
        path, model = load_trained_model(tmp_path / name, torch.device("cpu"))
        assert path == tmp_path / name
        assert isinstance(model, kind) and not model.training


def test_devices():
    assert choose_device("cpu") == torch.device("cpu")
    expected = "cuda" if torch.cuda.is_available() else "cpu"
    assert choose_device("auto").type == expected
    with pytest.raises(MoEVAEValueError, match="device='tpu': expected auto"):
        choose_device("tpu")
    if not torch.cuda.is_available():
        with pytest.raises(MoEVAEValueError, match="no CUDA device"):
            choose_device("cuda")


def test_an_unreadable_checkpoint_in_a_folder_is_skipped_with_a_warning(
        folder):
    (folder / "best.pth").write_bytes(b"torn")
    (folder / "model_0_epoch_10.pth").write_bytes(b"torn too")
    warnings = []
    path, model = load_trained_model(folder, torch.device("cpu"),
                                     warn=warnings.append)
    assert path == folder / "model_0_epoch_9.pth"
    assert isinstance(model, FusedManager)
    assert [line.split(": ")[0] for line in warnings] == [
        str(folder / "best.pth"), str(folder / "model_0_epoch_10.pth")]
    assert all(line.endswith(f"skipped, using {path}") for line in warnings)


def test_a_folder_where_none_loads_is_one_line(folder):
    for path in folder.glob("model_*.pth"):
        path.write_bytes(b"torn")
    with pytest.raises(CheckpointError, match="no checkpoint in this folder "
                       "loads .the first: .*epoch_10.pth: unreadable"):
        load_trained_model(folder, torch.device("cpu"), warn=print)


def test_a_named_file_is_never_replaced_by_another(folder):
    (folder / "model_0_epoch_10.pth").write_bytes(b"torn")
    with pytest.raises(CheckpointError, match="epoch_10.pth: unreadable"):
        load_trained_model(folder / "model_0_epoch_10.pth",
                           torch.device("cpu"))
