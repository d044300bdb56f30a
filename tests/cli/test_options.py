"""``moevae train``'s options: checks across options, the run's folders,
and a resumed run's saved options (no training here)."""
import argparse
import json

import pytest

from moevae.cli import options
from moevae.cli.options import (
    FIXED_ON_RESUME,
    board_text,
    config_of,
    integer_at_least,
    parse,
    positive_float,
)
from moevae.cli.parsing import DEFAULT_BOARD, BoardAddress


@pytest.fixture(autouse=True)
def in_tmp(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for name in ("TORCHELASTIC_RUN_ID", "RANK", "TORCHELASTIC_RESTART_COUNT"):
        monkeypatch.delenv(name, raising=False)
    return tmp_path


def refused(argv, capsys):
    with pytest.raises(SystemExit) as stop:
        parse(argv)
    err = capsys.readouterr().err
    assert stop.value.code == 2 and err.count("\n") == 1
    assert err.startswith("moevae train: error: ")
    return err


def saved_run(folder, **config):
    """A run folder as `moevae train` leaves it: config.json and a
    checkpoint folder holding the initial states."""
    args = parse(["--name", "saved", "--run-dir", str(folder)])
    values = config_of(args)
    values.update(config)
    (folder / "checkpoints").mkdir(parents=True)
    (folder / "checkpoints" / "initial.pth").write_bytes(b"x")
    (folder / "config.json").write_text(json.dumps(values))
    return folder


@pytest.mark.parametrize("minimum, good, bad", [
    (1, ["1", "30"], ["0", "-2", "x", "1.5"]), (0, ["0", "7"], ["-1", ""])])
def test_integer_at_least(minimum, good, bad):
    parse_int = integer_at_least(minimum)
    assert [parse_int(text) for text in good] == [int(t) for t in good]
    for text in bad:
        with pytest.raises(argparse.ArgumentTypeError,
                           match=rf"^{text!r}: expected an integer >= "
                           rf"{minimum}$"):
            parse_int(text)


@pytest.mark.parametrize("text", ["0", "-1e-3", "nan", "lr", "-inf"])
def test_positive_float_refuses_the_rest(text):
    assert positive_float("1e-3") == 0.001
    with pytest.raises(argparse.ArgumentTypeError, match="expected a number"):
        positive_float(text)


def test_defaults_name_the_run_and_its_folders(in_tmp, monkeypatch):
    monkeypatch.setenv("TORCHELASTIC_RUN_ID", "job7")
    args = parse([])
    assert args.name == "moe-vae-job7"
    assert args.run_dir == in_tmp / "runs" / "moe-vae-job7"
    assert args.checkpointdir == args.run_dir / "checkpoints"
    assert args.board == DEFAULT_BOARD and args.recipe == "pynet-example"
    assert args.datasetdir.is_absolute()
    monkeypatch.setenv("TORCHELASTIC_RUN_ID", "none")
    assert parse([]).name.startswith("moe-vae-20")


@pytest.mark.parametrize("argv, message", [
    (["--fold", "10"], "argument --fold: 10: expected 0-9"),
    (["--fold", "12"], "argument --fold: 12: expected 0-9"),
    (["--epochs", "0"], "argument --epochs: '0': expected an integer >= 1"),
    (["--name", "a/b"], "argument --name: name='a/b'"),
    (["--board", "nowhere"], "argument --board: 'nowhere': expected auto")])
def test_bad_options_are_one_line_naming_the_flag(argv, message, capsys):
    assert message in refused(argv, capsys)


def test_a_folder_holding_a_run_is_refused_for_a_new_run(in_tmp, capsys):
    saved_run(in_tmp / "runs" / "old")
    err = refused(["--name", "old"], capsys)
    assert "already holds a run" in err and "--resume" in err
    config_only = in_tmp / "runs" / "empty"
    config_only.mkdir(parents=True)
    (config_only / "config.json").write_text("{}")
    err = refused(["--name", "empty"], capsys)
    assert "wrote no checkpoint (nothing to resume)" in err


def test_resume_takes_the_saved_options_and_the_given_ones(in_tmp):
    run = saved_run(in_tmp / "runs" / "old", epochs=3, batch_size=50,
                    recipe="seed")
    args = parse(["--resume", str(run), "--epochs", "5"])
    assert args.epochs == 5 and args.batch_size == 50
    assert args.name == "saved" and args.resume == run
    assert args.run_dir == run and args.checkpointdir == run / "checkpoints"
    again = parse(["--resume", str(run / "checkpoints")])
    assert again.run_dir == run and again.epochs == 3


@pytest.mark.parametrize("argv, message", [
    (["--seed", "4"], "argument --seed: 4 given on resume, the run used 0"),
    (["--fold", "2"], "argument --fold: 2 given on resume, the run used 0")])
def test_resume_refuses_a_change_of_what_defines_the_run(in_tmp, argv,
                                                         message, capsys):
    assert {"seed", "fold"} <= set(FIXED_ON_RESUME)
    run = saved_run(in_tmp / "old")
    assert message in refused(["--resume", str(run)] + argv, capsys)


@pytest.mark.parametrize("config, message", [
    (dict(epochs=0), "epochs=0 ('0': expected an integer >= 1); expected a "
                     "value --epochs takes"),
    (dict(recipe="nope"), "recipe='nope' (not one of"),
    (dict(validation="yes"), "validation='yes' (not true/false)"),
    (dict(learning_rate=True), "learning_rate=True (a bool)")])
def test_a_bad_saved_option_is_named_with_its_file(in_tmp, config, message,
                                                   capsys):
    run = saved_run(in_tmp / "old", **config)
    err = refused(["--resume", str(run)], capsys)
    assert f"{run / 'config.json'}: {message}" in err


def test_resume_of_a_missing_folder_or_a_file_is_one_line(in_tmp, capsys):
    assert "no such folder" in refused(["--resume", "gone"], capsys)
    (in_tmp / "f").write_text("")
    assert "a file; expected a run folder" in refused(["--resume", "f"],
                                                      capsys)
    (in_tmp / "bare").mkdir()
    assert "no config.json in it" in refused(["--resume", "bare"], capsys)


@pytest.mark.parametrize("board, text", [
    (None, "off"), (DEFAULT_BOARD, "auto"),
    (BoardAddress("http://h", 9000), "http://h:9000")])
def test_the_saved_board_gives_the_same_board_back(board, text):
    assert board_text(board) == text
    assert options.build_parser().parse_args(["--board", text]).board == board


def test_config_of_is_json_ready_without_resume():
    args = parse(["--name", "x", "--board", "off"])
    config = config_of(args)
    assert "resume" not in config and config["board"] == "off"
    assert json.loads(json.dumps(config))["run_dir"] == str(args.run_dir)
