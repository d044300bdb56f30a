"""A refused command changes nothing: files, board windows, run status."""
import json
import subprocess
import sys

import pytest

from moevae.cli import train as train_cli
from tests.support.helpers import free_port, write_mnist_idx

RUN_FILES = ("board.jsonl", "config.json", "history.json")


def snapshot(run_dir, server, env):
    files = {name: (run_dir / name).read_bytes() for name in RUN_FILES}
    return files, json.dumps(server.windows(env), sort_keys=True)


@pytest.fixture(scope="module")
def other_mnist(tmp_path_factory):
    """Other training rows than conftest's mnist_dir (another subset)."""
    return write_mnist_idx(tmp_path_factory.mktemp("other") / "mnist",
                           train=500, test=100)


@pytest.mark.parametrize("extra, message", [
    (["--epochs", "1"], "argument --epochs: 1: expected >= 2: the run has "
     "already trained 2 epoch(s) of fold 0 (model_0_epoch_1.pth (fold 0, "
     "after epoch 2))"),
    (["--epochs", "3", "--seed", "4"], "argument --seed: 4 given on resume"),
    (["--epochs", "3", "--fold", "3"], "argument --fold: 3 given on resume"),
    (["--epochs", "3", "--datasetdir", "OTHER"], "fold 0's training rows "
     "differ from the saved run's"),
])
def test_a_refused_resume_leaves_files_and_board_as_they_were(
        tmp_path, mnist_dir, other_mnist, visdom_server, run_cli, extra,
        message):
    run_dir = tmp_path / "try1"
    common = ["--board", visdom_server.url, "--name", "try1", "--run-dir",
              run_dir]
    assert run_cli(train_cli.main, ["--epochs", "2", "--datasetdir",
                                    mnist_dir, *common])[0] == 0
    before = snapshot(run_dir, visdom_server, "try1")
    status = visdom_server.windows("try1")["run_status"]["content"]
    assert 'data-status="finished"' in status
    extra = [str(other_mnist) if arg == "OTHER" else arg for arg in extra]
    if "--datasetdir" not in extra:
        extra += ["--datasetdir", str(mnist_dir)]
    code, _, err = run_cli(train_cli.main, ["--resume", run_dir, *extra,
                                            "--board", visdom_server.url])
    assert code == 2 and message in err, err
    assert len(err.strip().splitlines()) == 1 and "nb_epochs" not in err
    assert snapshot(run_dir, visdom_server, "try1") == before


@pytest.mark.parametrize("argv", [
    ["train", "--epcohs", "2"], ["train", "--help"], ["evaluate", "nope"],
    ["sample", "nope"], ["predict", "nope", "x.npy"], ["train", "--lr", "x"],
])
def test_argument_errors_import_neither_torch_nor_visdom(argv):
    """What makes --help and refusals answer at once (the times are
    measured in benchmarks/bench_cli.py)."""
    probe = ("import sys\nfrom moevae.cli import main\ntry:\n    main("
             f"{argv!r})\nexcept SystemExit:\n    pass\nprint(sorted("
             "{'torch', 'visdom', 'pandas', 'scipy'} & set(sys.modules)))")
    result = subprocess.run([sys.executable, "-c", probe],
                            capture_output=True, text=True, timeout=60)
    assert result.stdout.strip().splitlines()[-1] == "[]", result.stderr


def test_stopping_twice_says_no_board_runs(tmp_path, run_cli):
    from moevae.server import command
    port = free_port()
    for _ in range(2):
        code, _, err = run_cli(command.main, [
            "--stop", "--port", port, "--env-path", tmp_path])
        assert code == 1
        assert (err == f"moevae board --stop: no board is running on port "
                      f"{port}\n")


def test_the_last_line_says_where_the_board_is_and_how_to_stop_it(
        tmp_path, mnist_dir, visdom_server, run_cli, caplog):
    import logging
    run_dir = tmp_path / "demo"
    common = ["--board", visdom_server.url, "--name", "demo", "--run-dir",
              run_dir, "--datasetdir", mnist_dir]
    code, out, _ = run_cli(train_cli.main, ["--epochs", "1", *common])
    assert code == 0
    last = out.strip().splitlines()[-1]
    assert last.startswith("moevae train: done, final loss ")
    assert "newest model_0_epoch_0.pth (fold 0, after epoch 1 of 1)" in last
    # the fixture's server has its own --env-path: no command here stops it
    assert (f"board {visdom_server.url}/env/demo (its server keeps running;"
            " stop it where it was started)") in last
    with caplog.at_level(logging.INFO, logger="moevae"):
        code, out, _ = run_cli(train_cli.main, ["--resume", run_dir,
                                                "--epochs", "3", *common])
    assert code == 0
    assert ("continuing from model_0_epoch_0.pth (fold 0, after epoch 1: "
            "file names count epochs from 0, as pynet's) up to epoch 3"
            ) in caplog.text
    assert "newest model_0_epoch_2.pth (fold 0, after epoch 3 of 3)" in out
    code, out, _ = run_cli(train_cli.main, [
        "--epochs", "1", "--board", "off", "--run-dir", tmp_path / "quiet",
        "--datasetdir", mnist_dir])
    assert code == 0 and "board" not in out.strip().splitlines()[-1]



def test_the_stop_hint_is_given_when_the_default_pid_file_is_there(
        tmp_path, monkeypatch):
    from types import SimpleNamespace

    from moevae.server import launch
    monkeypatch.setattr(launch, "DEFAULT_ENV_PATH", tmp_path / "env")
    monkeypatch.setattr(launch, "answers", lambda *args, **kwargs: True)
    board = SimpleNamespace(host="http://localhost", port=8123, server=None,
                            env_url="http://localhost:8123/env/x")
    args = SimpleNamespace(checkpointdir=tmp_path / "none", epochs=1,
                           run_dir=tmp_path, board=None)
    history = SimpleNamespace(steps=[], history={})
    assert "stop it where it was started" in train_cli.done_line(
        args, history, board)
    launch.pid_file(tmp_path / "env", 8123).parent.mkdir()
    launch.pid_file(tmp_path / "env", 8123).write_text("1")
    line = train_cli.done_line(args, history, board)
    assert f"`{launch.stop_command(tmp_path / 'env', 8123)}` stops it" in line
