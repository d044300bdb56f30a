"""moevae train from the command line: flags, exit codes, repeatability."""
import json
import subprocess
import sys

import pytest
import torch

from moevae.checkpoint import list_checkpoints
from moevae.cli import main as moevae_main
from moevae.cli import train as train_cli


def run_main(capsys, *args):
    try:
        code = moevae_main(list(args))
    except SystemExit as stop:
        code = stop.code
    return code, capsys.readouterr()


@pytest.mark.parametrize("args, message", [
    (["--epochs", "0"], "argument --epochs: '0': expected an integer >= 1"),
    (["--batch-size", "x"], "argument --batch-size"),
    (["--device", "tpu"], "argument --device: invalid choice: 'tpu'"),
    (["--board", "localhost:8097"], "expected auto, off or a URL"),
    (["--fold", "10"], "argument --fold: 10: expected 0-9"),
    (["--seed", "-1"], "argument --seed"),
    (["--resume", "/nonexistent/run"], "no such folder"),
    (["--epoch", "3", "--bogus"], "unrecognized arguments: --bogus"),
])
def test_bad_flags_exit_2_with_one_line(capsys, args, message):
    code, output = run_main(capsys, "train", *args)
    assert code == 2
    assert message in output.err
    assert output.err.strip().count("\n") == 0 and "Traceback" not in \
        output.err


def test_unknown_command(capsys):
    code, output = run_main(capsys, "trian")
    assert code == 2 and "unknown command 'trian'" in output.err


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a CPU-only box")
def test_cuda_requested_without_gpu(capsys):
    code, output = run_main(capsys, "train", "--device", "cuda")
    assert code == 2 and "no CUDA device is available" in output.err


def train(tmp_path, mnist_dir, name, *extra):
    return train_cli.main(["--epochs", "2", "--board", "off", "--datasetdir",
                           str(mnist_dir), "--run-dir", str(tmp_path / name),
                           "--seed", "5", *extra])


def final_weights(run_dir):
    path = list_checkpoints(run_dir / "checkpoints")[0]
    return torch.load(path, weights_only=True)["model"]


@pytest.mark.slow
def test_fixed_seed_repeats_bit_for_bit(tmp_path, mnist_dir):
    assert train(tmp_path, mnist_dir, "a") == 0
    assert train(tmp_path, mnist_dir, "b") == 0
    first, second = final_weights(tmp_path / "a"), final_weights(tmp_path / "b")
    assert all(torch.equal(first[key], second[key]) for key in first)
    history = json.loads((tmp_path / "a" / "history.json").read_text())
    assert len(history["train"]["history"]) == 2
    config = json.loads((tmp_path / "a" / "config.json").read_text())
    assert config["seed"] == 5 and config["board"] == "off"
    assert train(tmp_path, mnist_dir, "c", "--seed", "6") == 0
    third = final_weights(tmp_path / "c")
    assert not torch.equal(first["in_weight"], third["in_weight"])


@pytest.mark.slow
def test_per_expert_layout_and_validation(tmp_path, mnist_dir, capsys):
    assert train(tmp_path, mnist_dir, "p", "--layout", "per-expert",
                 "--validation", "--fold", "3") == 0
    weights = final_weights(tmp_path / "p")
    assert "_experts.9.decoder.hidden_to_out.weight" in weights
    assert (tmp_path / "p" / "checkpoints" / "best.pth").is_file()
    assert "done, final loss" in capsys.readouterr().out


def test_data_errors_exit_2(tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("")
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "train-images-idx3-ubyte").write_bytes(b"junk")
    (tmp_path / "d" / "train-labels-idx1-ubyte").write_bytes(b"junk")
    code = train_cli.main(["--epochs", "1", "--board", "off", "--datasetdir",
                           str(tmp_path / "d"), "--run-dir",
                           str(tmp_path / "r")])
    err = capsys.readouterr().err
    assert code == 2 and "not an IDX file" in err
    assert err.strip().count("\n") == 0


@pytest.mark.slow
def test_console_script_end_to_end(tmp_path, mnist_dir):
    result = subprocess.run(
        [sys.executable, "-m", "moevae", "train", "--epochs", "1", "--board",
         "off", "--datasetdir", str(mnist_dir), "--run-dir",
         str(tmp_path / "run")], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert "fold 0 epoch 1/1: loss" in result.stderr
    assert "samples/s" in result.stderr
