"""Strict JSON: what moevae writes parses with a strict reader; read_json
reads it back, or says in one line why not."""
import json

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from moevae.errors import DataError
from moevae.fileio import dumps_strict, read_json, strict_json, write_json


def reject_constant(token):
    raise ValueError(f"non-standard JSON token {token}")


def strict_loads(text):
    return json.loads(text, parse_constant=reject_constant)


json_like = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() |
    st.text() | st.builds(np.float32, st.floats(width=32)) |
    st.builds(np.float64, st.floats()),
    lambda children: st.lists(children, max_size=4) |
    st.dictionaries(st.text(max_size=5), children, max_size=4) |
    st.lists(st.floats(), max_size=5).map(np.array), max_leaves=20)


@given(json_like)
def test_any_value_becomes_strict_json(value):
    text = dumps_strict(value)
    strict_loads(text)  # raises on NaN/Infinity tokens


def test_non_finite_become_null_and_the_rest_is_kept():
    value = {"a": [1.0, float("nan"), float("inf")], "b": np.array(
        [[-np.inf, 2.0]]), "c": np.float32(0.5), "d": (np.int64(3), True)}
    assert strict_json(value) == {"a": [1.0, None, None],
                                  "b": [[None, 2.0]], "c": 0.5,
                                  "d": [3, True]}


@pytest.mark.parametrize("value", [b"bytes", {1, 2}, object(),
                                   {("a", "b"): 1}])
def test_what_json_cannot_hold_is_named(value):
    with pytest.raises(TypeError, match="is not JSON"):
        dumps_strict(value)


def test_write_json_is_strict(tmp_path):
    path = write_json(tmp_path / "h.json", {"loss": [float("inf"), 1.0]})
    assert strict_loads(path.read_text()) == {"loss": [None, 1.0]}


EXPECTED = "the config.json that moevae train writes"


def test_reads_what_write_json_wrote(tmp_path):
    path = write_json(tmp_path / "config.json", {"epochs": 3, "seed": 0})
    assert read_json(path, EXPECTED, dict) == {"epochs": 3, "seed": 0}


@pytest.mark.parametrize("content, reason", [
    (b"", r"empty \(0 bytes\)"),
    (b'{"epochs": 3, "se', r"not complete JSON \(.* line 1 column \d+\)"),
    (b"\x80\x04K\x01.", r"a Python pickle \(.*could run code\)"),
    (b"\xff\xfe{}", "not UTF-8 text"),
    (b"[1, 2]", "a JSON list"),
])
def test_unreadable_files_are_one_line(tmp_path, content, reason):
    path = tmp_path / "config.json"
    path.write_bytes(content)
    with pytest.raises(DataError, match=f"config.json: {reason}; expected "
                       f"{EXPECTED}") as error:
        read_json(path, EXPECTED, dict)
    assert "\n" not in str(error.value)


def test_a_missing_file_is_file_not_found(tmp_path):
    with pytest.raises(FileNotFoundError):
        read_json(tmp_path / "none.json", EXPECTED)
