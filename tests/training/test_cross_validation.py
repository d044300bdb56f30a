"""Cross-validation: every fold keeps its own final model and its own best,
and the commands read a folder of several folds as such."""
import pytest
import torch

from moevae.cli import evaluate as evaluate_cli
from moevae.cli import sample as sample_cli
from moevae.datasets import DataManager, fetch_minst
from moevae.interfaces import DeepLearningInterface
from moevae.losses import ManagerLoss
from moevae.models import build_manager
from moevae.training.checkpoint import load_checkpoint
from moevae.transforms import flatten

pytestmark = pytest.mark.slow


def cross_validate(mnist_dir, folder, folds=3, keep=2, epochs=2,
                   validation=True):
    data = fetch_minst(str(mnist_dir))
    manager = DataManager(data.input_path, data.metadata_path,
                          stratify_label="label", number_of_folds=folds,
                          batch_size=100, test_size=0,
                          input_transforms=[flatten], add_input=True)
    torch.manual_seed(0)
    net = DeepLearningInterface(model=build_manager(784, 32, 4, 3),
                                loss=ManagerLoss(),
                                optimizer_name="Adam", learning_rate=1e-3,
                                keep_checkpoints=keep)
    net.training(manager, nb_epochs=epochs, checkpointdir=str(folder),
                 with_validation=validation)
    return net


@pytest.mark.parametrize("keep, epochs, validation", [
    (2, 2, True),   # the reported case
    (1, 3, True),   # keep only the last: still one per fold
    (2, 3, False),  # no validation: no best copy at all
])
def test_each_fold_keeps_its_final_model_and_best(tmp_path, mnist_dir, keep,
                                                  epochs, validation):
    folder = tmp_path / "ck"
    cross_validate(mnist_dir, folder, keep=keep, epochs=epochs,
                   validation=validation)
    names = {path.name for path in folder.glob("*.pth")}
    for fold in range(3):
        assert f"model_{fold}_epoch_{epochs - 1}.pth" in names
        kept = [n for n in names if n.startswith(f"model_{fold}_")]
        assert len(kept) == min(keep, epochs)
        assert (f"best_{fold}.pth" in names) == validation
    assert "best.pth" not in names  # no loss compared across folds
    if validation:
        for fold in range(3):
            best = load_checkpoint(folder / f"best_{fold}.pth")
            assert best["fold"] == fold
            losses = [load_checkpoint(folder / n)["best"] for n in names
                      if n.startswith(f"model_{fold}_")]
            assert best["best"] == min(losses)


def test_commands_say_which_fold_and_take_fold(tmp_path, mnist_dir, capsys):
    folder = tmp_path / "ck"
    cross_validate(mnist_dir, folder)
    assert evaluate_cli.main([str(folder), "--datasetdir", str(mnist_dir),
                              "--json", str(tmp_path / "e.json")]) == 0
    out = capsys.readouterr().out
    assert "best_2.pth (fold 2 of folds 0, 1, 2; --fold chooses)" in out
    assert evaluate_cli.main([str(folder), "--fold", "0", "--datasetdir",
                              str(mnist_dir), "--json",
                              str(tmp_path / "e.json")]) == 0
    assert "best_0.pth (fold 0 of" in capsys.readouterr().out
    assert sample_cli.main([str(folder), "--fold", "1", "--out",
                            str(tmp_path / "s.png"), "--device", "cpu"]) == 0
    assert "best_1.pth (fold 1 of" in capsys.readouterr().out
    with pytest.raises(SystemExit) as stop:
        evaluate_cli.main([str(folder), "--fold", "5"])
    assert stop.value.code == 2
    error = capsys.readouterr().err
    assert "no checkpoint of fold 5 (it holds folds 0, 1, 2)" in error
    assert error.count("\n") == 1


def test_each_folds_report_is_kept_and_predict_names_the_fold(
        tmp_path, mnist_dir, capsys):
    import numpy as np

    from moevae.cli import predict as predict_cli
    folder = tmp_path / "ck"
    cross_validate(mnist_dir, folder)
    for fold in ("0", "2"):
        assert evaluate_cli.main([str(folder), "--fold", fold,
                                  "--datasetdir", str(mnist_dir)]) == 0
    capsys.readouterr()
    reports = sorted(path.name for path in folder.glob("evaluation*.json"))
    assert reports == ["evaluation_0.json", "evaluation_2.json"]
    assert sorted(path.name for path in folder.glob("confusion*.png")) == [
        "confusion_0.png", "confusion_2.png"]
    images = tmp_path / "in.npy"
    np.save(images, np.zeros((2, 28, 28), dtype=np.uint8))
    assert predict_cli.main([str(folder), str(images), "--fold", "1",
                             "--out", str(tmp_path / "p.csv"),
                             "--device", "cpu"]) == 0
    out = capsys.readouterr().out
    assert f"`moevae evaluate {folder} --fold 1`" in out
    assert predict_cli.main([str(folder), str(images), "--fold", "0",
                             "--out", str(tmp_path / "p.csv"),
                             "--device", "cpu"]) == 0
    assert "digit: each expert's digit" in capsys.readouterr().out
    with pytest.raises(SystemExit) as stop:  # a file of another fold
        evaluate_cli.main([str(folder / "best_1.pth"), "--fold", "2"])
    assert stop.value.code == 2
    assert "a checkpoint of fold 1, not of fold 2" in capsys.readouterr().err
