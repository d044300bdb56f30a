"""Strict JSON: what moevae writes parses with a strict reader."""
import json

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from moevae.fileio import dumps_strict, strict_json, write_json


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
