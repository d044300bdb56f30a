"""The queue's calls: which replace a window, which are kept, which merge."""
import numpy as np
import pytest

from moevae.plotting.calls import Call


@pytest.mark.parametrize("method, kwargs, replaces, keep", [
    ("line", {"win": "loss", "Y": [1.0], "X": [0]}, True, True),
    ("line", {"win": "loss", "Y": [1.0], "X": [0], "update": "append"},
     False, True),
    ("images", {"win": "samples", "tensor": None}, True, False),
    ("images", {"tensor": None}, False, False),  # no window: may be dropped
    ("text", {"win": "note", "text": "a", "append": True}, False, False),
    ("save", {"envs": ["main"]}, False, True),
])
def test_what_replaces_a_window_and_what_is_never_dropped(method, kwargs,
                                                           replaces, keep):
    call = Call(method, kwargs, env="main")
    assert (call.replaces, call.keep) == (replaces, keep)


def test_appends_to_one_trace_merge_in_order():
    first = Call("line", {"win": "loss", "name": "train", "Y": [1, 2],
                          "X": [0, 1], "update": "append"}, env="run")
    later = Call("line", {"win": "loss", "name": "train", "Y": [3.5],
                          "X": [2], "update": "append",
                          "opts": {"title": "t"}}, env="run")
    assert first.append_key == later.append_key == ("run", "loss", "train")
    first.merge(later)
    np.testing.assert_array_equal(first.kwargs["Y"], [1.0, 2.0, 3.5])
    np.testing.assert_array_equal(first.kwargs["X"], [0.0, 1.0, 2.0])
    assert first.kwargs["Y"].dtype == np.float64
    assert first.kwargs["opts"] == {"title": "t"}


def test_an_append_of_two_traces_at_once_is_not_merged():
    call = Call("line", {"win": "loss", "Y": np.ones((2, 2)), "X": [0, 1],
                         "update": "append"}, env="main")
    assert call.append_key is None and call.keep
