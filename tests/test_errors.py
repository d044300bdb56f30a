"""The one-line errors: their types, messages and the shared checks."""
import pytest

from moevae.errors import (
    CheckpointError,
    CheckpointWriteError,
    DataError,
    MoEVAEError,
    MoEVAETypeError,
    MoEVAEValueError,
    NonFiniteLossError,
    bad_type,
    bad_value,
    check_fraction,
    check_positive_int,
    short_repr,
)


@pytest.mark.parametrize("error, builtin", [
    (MoEVAEValueError, ValueError), (MoEVAETypeError, TypeError),
    (DataError, ValueError), (CheckpointError, ValueError),
    (CheckpointWriteError, OSError), (NonFiniteLossError, ArithmeticError)])
def test_every_error_is_ours_and_the_builtin_pynet_raised(error, builtin):
    assert issubclass(error, MoEVAEError) and issubclass(error, builtin)


def test_bad_value_and_bad_type_name_the_value_and_what_was_expected():
    assert (str(bad_value("lr", -1, "a number > 0")) ==
        "lr=-1: expected a number > 0")
    assert (str(bad_value("name", "x y", "a word")) ==
        "name='x y': expected a word")
    error = bad_type("epochs", "3", "an integer")
    assert isinstance(error, MoEVAETypeError)
    assert str(error) == "epochs='3' (str): expected an integer"


def test_a_long_value_is_cut_in_the_message():
    assert short_repr("a" * 10, limit=8) == "'aaaa..."
    assert len(short_repr(list(range(100)))) == 60
    assert short_repr([1, 2]) == "[1, 2]"
    message = str(bad_type("x", b"\n" * 500, "str"))
    assert "\n" not in message and len(message) < 100


@pytest.mark.parametrize("value, minimum", [(1, 1), (0, 0), (10**9, 5)])
def test_check_positive_int_returns_a_good_value(value, minimum):
    assert check_positive_int("n", value, minimum) == value


@pytest.mark.parametrize("value, error, message", [
    (0, MoEVAEValueError, "n=0: expected an integer >= 1"),
    (-3, MoEVAEValueError, "n=-3: expected an integer >= 1"),
    (True, MoEVAETypeError, r"n=True \(bool\)"),
    (2.0, MoEVAETypeError, r"n=2.0 \(float\)"),
    ("2", MoEVAETypeError, r"n='2' \(str\)")])
def test_check_positive_int_refuses_in_one_line(value, error, message):
    with pytest.raises(error, match=message):
        check_positive_int("n", value)


@pytest.mark.parametrize("value, low_open, expected", [
    (0, False, 0.0), (1, True, 1.0), (0.25, True, 0.25), (1, False, 1.0)])
def test_check_fraction_returns_a_float(value, low_open, expected):
    result = check_fraction("share", value, low_open)
    assert result == expected and type(result) is float


@pytest.mark.parametrize("value, low_open, error, message", [
    (0, True, MoEVAEValueError, r"share=0: expected a number in \(0, 1\]"),
    (1.5, False, MoEVAEValueError, r"share=1.5: expected a number in \[0, "),
    (-0.1, False, MoEVAEValueError, r"in \[0, 1\]"),
    (float("nan"), False, MoEVAEValueError, "share=nan"),
    (False, False, MoEVAETypeError, r"share=False \(bool\)"),
    ("0.5", False, MoEVAETypeError, r"share='0.5' \(str\)")])
def test_check_fraction_refuses_in_one_line(value, low_open, error, message):
    with pytest.raises(error, match=message):
        check_fraction("share", value, low_open)
