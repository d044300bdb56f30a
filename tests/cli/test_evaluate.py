import json

import pytest
import torch
from PIL import Image

from moevae.cli import evaluate as evaluate_cli
from moevae.cli import train as train_cli
from moevae.models import build_manager


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    from tests.support.helpers import write_mnist_idx
    root = tmp_path_factory.mktemp("trained")
    mnist_dir = write_mnist_idx(root / "mnist")
    assert train_cli.main(["--epochs", "1", "--board", "off", "--datasetdir",
                           str(mnist_dir), "--run-dir", str(root / "run")]
                          ) == 0
    return mnist_dir, root / "run" / "checkpoints" / "model_0_epoch_0.pth"


def test_writes_valid_json_and_pictures(tmp_path, trained, capsys):
    mnist_dir, checkpoint = trained
    report = tmp_path / "report.json"
    assert evaluate_cli.main([str(checkpoint), "--datasetdir", str(mnist_dir),
                              "--json", str(report)]) == 0
    payload = json.loads(report.read_text())
    assert 0 < payload["acc"] <= 1 and 0 <= payload["nmi"] <= 1
    assert (len(payload["usage"]) == 10 and sum(payload["usage"]) ==
        pytest.approx(1))
    assert sum(map(sum, payload["confusion"])) == 700
    for name in ("confusion.png", "experts.png"):
        with Image.open(tmp_path / name) as picture:
            assert picture.size[0] > 200 and picture.size[1] > 200
    out = capsys.readouterr().out
    assert f"ACC {payload['acc']:.4f}" in out and "expert 9:" in out


def test_per_expert_state_dict_is_accepted(tmp_path, trained):
    mnist_dir, _ = trained
    torch.save(build_manager().state_dict(), tmp_path / "seed.pth")
    assert evaluate_cli.main([str(tmp_path / "seed.pth"), "--datasetdir",
                              str(mnist_dir)]) == 0
    assert (tmp_path / "evaluation.json").is_file()


@pytest.mark.parametrize("content, message", [
    (None, "no such checkpoint file or folder"),
    (b"garbage", "unreadable checkpoint"),
    ("linear", "not a mixture-of-experts checkpoint"),
    ("narrow", "'dec_out_weight' has shape .* in the checkpoint but"),
])
def test_refuses_missing_or_mismatching(tmp_path, trained, capsys, content,
                                       message):
    import re
    mnist_dir, checkpoint = trained
    target = tmp_path / "model.pth"
    if content == "linear":
        torch.save(torch.nn.Linear(3, 3).state_dict(), target)
    elif content == "narrow":
        state = torch.load(checkpoint, weights_only=True)["model"]
        state["in_weight"] = state["in_weight"][:, :100]
        torch.save({"model": state}, target)
    elif content is not None:
        target.write_bytes(content)
    try:
        code = evaluate_cli.main([str(target), "--datasetdir",
                                  str(mnist_dir)])
    except SystemExit as stop:
        code = stop.code
    err = capsys.readouterr().err
    assert code == 2 and re.search(message, err), err
    assert err.strip().count("\n") == 0
    assert not (tmp_path / "evaluation.json").exists()


def test_a_folder_gives_its_best_else_newest_checkpoint(tmp_path, trained,
                                                        capsys):
    import shutil
    mnist_dir, checkpoint = trained
    run = tmp_path / "run"
    folder = run / "checkpoints"
    folder.mkdir(parents=True)
    for epoch in (1, 3, 2):
        shutil.copy(checkpoint, folder / f"model_0_epoch_{epoch}.pth")
    arguments = ["--datasetdir", str(mnist_dir)]
    assert evaluate_cli.main([str(run)] + arguments) == 0
    assert capsys.readouterr().out.startswith(
        f"{folder / 'model_0_epoch_3.pth'}: scored on all 700 images")
    assert (folder / "evaluation.json").is_file()
    shutil.copy(checkpoint, folder / "best.pth")
    assert evaluate_cli.main([str(folder)] + arguments) == 0
    assert capsys.readouterr().out.startswith(f"{folder / 'best.pth'}: ")


def test_a_folder_without_checkpoint_is_one_line(tmp_path, capsys):
    with pytest.raises(SystemExit) as stop:
        evaluate_cli.main([str(tmp_path)])
    err = capsys.readouterr().err
    assert stop.value.code == 2 and err.count("\n") == 1
    assert "no checkpoint in this folder" in err and "no such file" not in err


@pytest.mark.parametrize("name", ["best.pth", "best_0.pth"])
def test_a_truncated_best_beside_good_checkpoints_is_skipped(
        tmp_path, trained, capsys, name):
    """evaluate reads a folder as sample and predict do: an unreadable
    best copy is skipped with one warning (best.pth, and a fold's)."""
    import shutil
    mnist_dir, checkpoint = trained
    folder = tmp_path / "ck"
    folder.mkdir()
    shutil.copy(checkpoint, folder / checkpoint.name)
    (folder / name).write_bytes(checkpoint.read_bytes()[:200])
    assert evaluate_cli.main([str(folder), "--datasetdir", str(mnist_dir),
                              "--json", str(tmp_path / "r.json")]) == 0
    output = capsys.readouterr()
    assert output.out.startswith(str(folder / checkpoint.name))
    assert output.err.count("warning") == 1 and name in output.err


@pytest.mark.parametrize("path", ["missing", "missing/run", "x.pth"])
def test_a_path_that_does_not_exist_says_so(tmp_path, capsys, path):
    with pytest.raises(SystemExit) as stop:
        evaluate_cli.main([str(tmp_path / path)])
    assert stop.value.code == 2
    error = capsys.readouterr().err
    assert "no such checkpoint file or folder" in error
    assert "no checkpoint in this folder" not in error
