"""moevae train from the command line: flags, exit codes, repeatability."""
import json
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from moevae.cli import main as moevae_main
from moevae.cli import train as train_cli
from moevae.training.checkpoint import list_checkpoints


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
    (["--board", "localhost:8097"], "expected auto, off or a"),
    (["--board", "ftp://host/visdom"], "expected auto, off or a URL such as"),
    (["--board", "http://u:secret@h:1?x"], "'http://u:***@h:1?x'"),
    (["--board", "http://h:80"], None),
    (["--name", "main"], "name='main': expected another name"),
    (["--name", "main", "--board", "off"], "the board's first page"),
    (["--fold", "10"], "argument --fold: 10: expected 0-9"),
    (["--seed", "-1"], "argument --seed"),
    (["--resume", "/nonexistent/run"], "no such folder"),
    (["--epoch", "3", "--bogus"], "unknown option --bogus (see --help)"),
    (["--epcohs", "3"], "unknown option --epcohs; did you mean --epochs?"),
    (["--batchsize=5"], "unknown option --batchsize; did you mean "
                        "--batch-size?"),
    (["--lr", "0"], "argument --learning-rate/--lr: '0': expected a number"),
])
def test_bad_flags_exit_2_with_one_line(capsys, args, message):
    if message is None:  # refused for another flag: the URL parsed
        args, message = [*args, "--epochs", "0"], "argument --epochs"
    code, output = run_main(capsys, "train", *args)
    assert code == 2
    assert message in output.err
    assert (output.err.strip().count("\n") == 0 and "Traceback" not in
        output.err)


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
def test_bf16_with_validation(tmp_path, mnist_dir):
    # the validation predictions are bfloat16, which numpy has not
    assert train(tmp_path, mnist_dir, "bf", "--precision", "bf16",
                 "--validation") == 0
    assert (tmp_path / "bf" / "checkpoints" / "best.pth").is_file()


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


def history_epochs(run_dir):
    history = json.loads((run_dir / "history.json").read_text())
    return [step for step, _ in history["train"]["history"]]


@pytest.mark.slow
def test_resume_with_more_epochs_trains_them(tmp_path, mnist_dir):
    assert train_cli.main(["--epochs", "1", "--board", "off", "--datasetdir",
                           str(mnist_dir), "--run-dir",
                           str(tmp_path / "r")]) == 0
    assert train_cli.main(["--resume", str(tmp_path / "r"), "--epochs",
                           "2"]) == 0
    assert history_epochs(tmp_path / "r") == [[0, 0], [0, 1]]
    config = json.loads((tmp_path / "r" / "config.json").read_text())
    assert config["epochs"] == 2  # the next resume continues from here
    assert json.loads((tmp_path / "r" / "checkpoints" / "config.json"
                       ).read_text())["epochs"] == 2


@pytest.mark.slow
def test_resume_from_the_checkpoint_folder_the_user_named(tmp_path,
                                                          mnist_dir, capsys):
    folder = tmp_path / "mine"
    assert train_cli.main(["--epochs", "1", "--board", "off", "--datasetdir",
                           str(mnist_dir), "--run-dir", str(tmp_path / "r"),
                           "--checkpointdir", str(folder)]) == 0
    assert train_cli.main(["--resume", str(folder), "--epochs", "2"]) == 0
    assert history_epochs(tmp_path / "r") == [[0, 0], [0, 1]]
    assert list_checkpoints(folder)[0].name == "model_0_epoch_1.pth"


@pytest.mark.slow
def test_killed_in_the_first_checkpoint_write_then_resumed(tmp_path,
                                                           mnist_dir):
    """Only a torn temporary file in the folder: one warning, and the run
    starts from the beginning, as an uninterrupted one would."""
    script = Path(__file__).parents[1] / "support" / "killable_train.py"
    common = ["--epochs", "1", "--board", "off", "--datasetdir",
              str(mnist_dir), "--seed", "4"]
    for kill_at in ("1", "2"):  # initial.pth, then the first checkpoint
        folder = tmp_path / f"ck{kill_at}"
        done = subprocess.run(
            [sys.executable, str(script), *common, "--run-dir",
             str(tmp_path / f"r{kill_at}"), "--checkpointdir", str(folder)],
            env=dict(os.environ, KILL_IN_CHECKPOINT=kill_at),
            capture_output=True, text=True, timeout=300)
        assert done.returncode == -signal.SIGKILL
        assert not list_checkpoints(folder) and list(folder.glob(".*.tmp"))
        resumed = subprocess.run(
            [sys.executable, "-m", "moevae", "train", "--resume", str(folder)],
            capture_output=True, text=True, timeout=300)
        assert resumed.returncode == 0, resumed.stderr
        warnings = [line for line in resumed.stderr.splitlines()
                    if "WARNING" in line]
        assert len(warnings) == 1 and "no complete checkpoint" in warnings[0]
    assert (train_cli.main([*common, "--run-dir", str(tmp_path / "whole")])
        == 0)
    expected = final_weights(tmp_path / "whole")
    for kill_at in ("1", "2"):
        got = torch.load(list_checkpoints(tmp_path / f"ck{kill_at}")[0],
                         weights_only=True)["model"]
        assert all(torch.equal(got[key], expected[key]) for key in expected)


@pytest.mark.parametrize("flag, value", [("--seed", "9"),
                                         ("--recipe", "tsne-warm-start"),
                                         ("--fold", "4")])
def test_resume_refuses_a_change_of_what_defines_the_run(tmp_path, capsys,
                                                         flag, value):
    run_dir = saved_run(tmp_path)
    code, output = run_main(capsys, "train", "--resume", str(run_dir), flag,
                            value)
    assert code == 2 and "given on resume, the run used" in output.err
    assert output.err.strip().count("\n") == 0


def test_a_new_run_never_overwrites_a_run_folder(tmp_path, capsys):
    run_dir = tmp_path / "r"
    (run_dir / "checkpoints").mkdir(parents=True)
    (run_dir / "config.json").write_text('{"epochs": 1}')
    code, output = run_main(capsys, "train", "--run-dir", str(run_dir))
    # a run that wrote no checkpoint: nothing to resume, says what to do
    assert (code == 2 and "wrote no checkpoint (nothing to resume): "
        f"delete {run_dir / 'config.json'}" in output.err)
    assert output.err.strip().count("\n") == 0
    (run_dir / "checkpoints" / "initial.pth").write_bytes(b"x")
    code, output = run_main(capsys, "train", "--run-dir", str(run_dir))
    assert code == 2 and "already holds a run" in output.err
    assert (run_dir / "config.json").read_text() == '{"epochs": 1}'


def saved_run(tmp_path, **config):
    run_dir = tmp_path / "r"
    (run_dir / "checkpoints").mkdir(parents=True)
    values = {"seed": 0, "recipe": "seed", "fold": 0, "epochs": 1,
              "board": "off", "name": "r"}
    values.update(config)
    (run_dir / "checkpoints" / "config.json").write_text(json.dumps(values))
    (run_dir / "config.json").write_text(json.dumps(values))
    return run_dir


@pytest.mark.parametrize("config, message", [
    ({"board": 42}, r"board=42 \(.*\); expected a value --board takes"),
    ({"seed": "zero"}, r"seed='zero' .*expected a value --seed takes"),
    ({"compile": "no"}, r"compile='no' \(not true/false\)"),
    ({"threads": 0}, r"threads=0 .*expected an integer >= 1"),
    ({"name": "a/b"}, r"name='a/b'"),
    ({"device": "tpu"}, r"device='tpu' \(not one of"),
])
def test_a_bad_value_in_config_json_is_one_line(tmp_path, capsys, config,
                                                message):
    run_dir = saved_run(tmp_path, **config)
    code, output = run_main(capsys, "train", "--resume", str(run_dir))
    assert code == 2 and re.search(message, output.err), output.err
    assert (output.err.strip().count("\n") == 0 and "config.json" in
        output.err)


def test_resume_names_a_file_and_another_runs_folder(tmp_path, capsys):
    run_dir = saved_run(tmp_path)
    (run_dir / "checkpoints" / "initial.pth").write_bytes(b"x")
    code, output = run_main(capsys, "train", "--resume",
                            str(run_dir / "checkpoints" / "initial.pth"))
    assert code == 2 and "a file; expected a run folder" in output.err
    other = tmp_path / "other"
    other.mkdir()
    (other / "config.json").write_text("{}")
    code, output = run_main(capsys, "train", "--resume", str(run_dir),
                            "--run-dir", str(other))
    assert code == 2 and "holds another run" in output.err
    assert (other / "config.json").read_text() == "{}"
    for new in (tmp_path / "new", tmp_path / "new" / "deeper"):
        code, output = run_main(capsys, "train", "--resume", str(run_dir),
                                "--run-dir", str(new))
        assert code == 2 and "a resumed run keeps its folder" in output.err
        assert not new.exists()
    code, output = run_main(capsys, "train", "--resume", str(run_dir),
                            "--name", "renamed")
    assert code == 2 and "--name: renamed given on resume" in output.err


@pytest.mark.slow
def test_a_copied_run_resumes_where_it_is(tmp_path, mnist_dir):
    import shutil
    original = tmp_path / "runs" / "mv"
    assert train_cli.main(["--epochs", "1", "--board", "off", "--datasetdir",
                           str(mnist_dir), "--run-dir", str(original)]) == 0
    before = (original / "config.json").read_text()
    copy = tmp_path / "moved" / "copy"
    shutil.copytree(original, copy)
    assert train_cli.main(["--resume", str(copy / "checkpoints"),
                           "--epochs", "2"]) == 0
    assert (original / "config.json").read_text() == before
    assert history_epochs(copy) == [[0, 0], [0, 1]]
    assert history_epochs(original) == [[0, 0]]


def test_a_layout_the_recipe_has_not_is_refused_before_anything(tmp_path,
                                                                run_cli):
    code, out, err = run_cli(train_cli.main, [
        "--recipe", "umap-conv-consistency", "--layout", "per-expert",
        "--board", "off", "--run-dir", tmp_path / "run", "--datasetdir",
        tmp_path / "data", "--no-download"])
    assert code == 2
    assert "argument --layout: 'per-expert': expected 'fused'" in err
    assert "umap-conv-consistency" in err
    assert len(err.strip().splitlines()) == 1, err
    assert not (tmp_path / "run").exists()
    assert not (tmp_path / "data").exists()


@pytest.mark.parametrize("fail_at, error", [
    (1, RuntimeError("disk on fire")),  # the second epoch fails
    (2, KeyboardInterrupt()),           # a second Ctrl-C in the third
    (1, MemoryError()),
])
def test_a_run_that_fails_after_epochs_keeps_their_history(
        tmp_path, mnist_dir, monkeypatch, fail_at, error):
    from moevae.interfaces import DeepLearningInterface
    train_epoch = DeepLearningInterface._train_epoch

    def failing(self, run, loaders, fold, epoch, *rest):
        if epoch == fail_at:
            raise error
        return train_epoch(self, run, loaders, fold, epoch, *rest)

    monkeypatch.setattr(DeepLearningInterface, "_train_epoch", failing)
    flags = ["--epochs", "3", "--board", "off", "--datasetdir",
             str(mnist_dir), "--run-dir", str(tmp_path / "r")]
    if isinstance(error, KeyboardInterrupt):
        assert train_cli.main(flags) == 130
    else:
        with pytest.raises(type(error)):
            train_cli.main(flags)
    assert history_epochs(tmp_path / "r") == [[0, e] for e in range(fail_at)]


def test_a_run_that_fails_in_its_first_epoch_writes_no_history(
        tmp_path, mnist_dir, monkeypatch):
    from moevae.interfaces import DeepLearningInterface

    def failing(self, *args):
        raise RuntimeError("at once")

    monkeypatch.setattr(DeepLearningInterface, "_train_epoch", failing)
    with pytest.raises(RuntimeError):
        train_cli.main(["--epochs", "2", "--board", "off", "--datasetdir",
                        str(mnist_dir), "--run-dir", str(tmp_path / "r")])
    assert not (tmp_path / "r" / "history.json").exists()
