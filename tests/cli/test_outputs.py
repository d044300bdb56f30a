"""Output files of the model-using commands: checked first, replaced
together, errors reported in one line with the flag the user typed."""
from pathlib import Path

import pytest

from moevae.cli.outputs import (
    OutputWriteError,
    atomic_outputs,
    check_output,
    run_reporting_errors,
)
from moevae.errors import MoEVAEError, MoEVAEValueError


@pytest.mark.parametrize("name, suffix, message", [
    ("folder", None, "a file name, not a folder"),
    ("out.txt", ".png", "a file name ending in .png"),
    ("afile/out.png", None, "is a folder, not a file"),
])
def test_a_bad_output_path_is_refused_in_one_line(tmp_path, name, suffix,
                                                  message):
    (tmp_path / "folder").mkdir()
    (tmp_path / "afile").write_text("x")
    with pytest.raises(MoEVAEValueError, match=f"^--out=.*{message}"):
        check_output("--out", tmp_path / name, suffix)


@pytest.mark.parametrize("device", ["/dev/null", "/dev/full", "/dev/zero"])
def test_a_device_is_never_replaced_by_an_output(device):
    with pytest.raises(MoEVAEValueError, match=f"^--out='{device}': "
                       "expected a regular file"):
        check_output("--out", Path(device), inputs=[])


def test_a_named_pipe_is_refused_too(tmp_path):
    import os
    os.mkfifo(tmp_path / "pipe")
    with pytest.raises(MoEVAEValueError, match="expected a regular file"):
        check_output("--out", tmp_path / "pipe")
    assert (tmp_path / "pipe").is_fifo()


def test_an_output_never_overwrites_an_input(tmp_path):
    source = tmp_path / "in.npy"
    source.write_bytes(b"data")
    with pytest.raises(MoEVAEValueError, match="than the input it would "
                       "overwrite"):
        check_output("--out", tmp_path / "." / "in.npy", inputs=[source])
    assert check_output("--out", tmp_path / "out.csv", ".csv",
                        [source]) == tmp_path / "out.csv"


def test_outputs_are_replaced_together_or_not_at_all(tmp_path):
    first, second = tmp_path / "a.json", tmp_path / "b.png"
    first.write_text("old a")
    second.write_text("old b")
    with pytest.raises(RuntimeError), atomic_outputs(
            "--out", [first, second]) as (a, b):
        a.write(b"new a")
        raise RuntimeError("half-way")
    assert (first.read_text(), second.read_text()) == ("old a", "old b")
    with atomic_outputs("--out", [first, second]) as (a, b):
        a.write(b"new a")
        b.write(b"new b")
    assert (first.read_text(), second.read_text()) == ("new a", "new b")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.json", "b.png"]


@pytest.mark.parametrize("raised, code, line", [
    (None, 0, ""),
    (OutputWriteError("cannot write x: disk full"), 1,
     "moevae sample: failed: cannot write x: disk full\n"),
    (MoEVAEValueError("count=0: expected >= 1"), 2,
     "moevae sample: error: argument --count: 0: expected >= 1\n"),
    (MoEVAEError("no checkpoint"), 2, "moevae sample: error: no checkpoint\n"),
])
def test_errors_are_one_line_naming_the_flag(capsys, raised, code, line):
    def body():
        if raised is not None:
            raise raised

    assert run_reporting_errors("moevae sample", body,
                                {"count": "--count"}) == code
    assert capsys.readouterr().err == line


def test_a_body_exit_status_and_extra_failures_are_kept(capsys):
    assert run_reporting_errors("moevae x", lambda: 3) == 3

    def failing():
        raise ArithmeticError("nan")

    assert run_reporting_errors("moevae x", failing,
                                failures=(ArithmeticError,)) == 1
    assert capsys.readouterr().err == "moevae x: failed: nan\n"
