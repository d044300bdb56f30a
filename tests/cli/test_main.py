"""The moevae command itself: --version, unknown commands, warnings."""
import subprocess
import sys
import warnings
from unittest import mock

import pytest

import moevae
from moevae.cli import COMMANDS, main


@pytest.mark.parametrize("flag", ["--version", "-V"])
def test_version(flag, capsys):
    assert main([flag]) == 0
    assert capsys.readouterr().out == f"moevae {moevae.__version__}\n"


def test_version_from_a_shell():
    result = subprocess.run([sys.executable, "-m", "moevae", "--version"],
                            capture_output=True, text=True, timeout=60)
    assert (result.returncode, result.stdout, result.stderr) == (
        0, f"moevae {moevae.__version__}\n", "")


def test_unknown_command_is_one_line(capsys):
    assert main(["trian"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "'trian'" in err and "--version" in err


def test_warnings_print_as_one_clean_line_then_are_restored(capsys):
    before = warnings.showwarning
    with (mock.patch.dict(COMMANDS, warn=("tests.support.warning_command", "")),
            warnings.catch_warnings()):
        warnings.simplefilter("always")
        assert main(["warn"]) == 0
    err = capsys.readouterr().err
    assert (err == "moevae: warning: first line second line of the same "
        "warning\n")
    assert warnings.showwarning is before


@pytest.mark.parametrize("command", ["evaluate", "replay", "train", "board",
                                     "assets"])
def test_help_is_plain_text(command, capsys):
    with pytest.raises(SystemExit) as exit_:
        main([command, "--help"])
    out = capsys.readouterr().out
    assert exit_.value.code == 0 and "usage: moevae" in out
    assert "``" not in out


def test_no_command_prints_the_usage_as_an_error(capsys):
    assert main([]) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err.startswith("usage: moevae")
    assert main(["--help"]) == 0
    assert capsys.readouterr().out.startswith("usage: moevae")
