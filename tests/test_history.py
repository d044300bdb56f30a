import pickle

import numpy as np
import pytest
import torch

from moevae.errors import MoEVAEError
from moevae.history import History


def test_log_index_save_load(tmp_path):
    history = History("train")
    history.log((0, 0), loss=3.0, kl=1.0)
    history.log((0, 1), loss=2.0, kl=0.5)
    history.log((0, 1), loss=1.5)
    steps, values = history["loss"]
    assert steps == [(0, 0), (0, 1)] and values.tolist() == [3.0, 1.5]
    path = history.save(tmp_path, fold=0, epoch=1)
    assert path.name == "train_0_epoch_1.json"
    loaded = History.load(path)
    assert loaded.steps == history.steps and loaded.metrics == ["loss", "kl"]
    np.testing.assert_array_equal(loaded["kl"][1], [1.0, 0.5])
    assert "loss" in repr(loaded) and "kl 0.5" in loaded.summary()


def test_bad_step():
    with pytest.raises(MoEVAEError, match="step="):
        History("x").log("epoch 1", loss=1.0)


def run_history_file(tmp_path):
    """history.json as ``moevae train`` writes it."""
    from moevae.fileio import write_json
    train, valid = History("train"), History("validation")
    for epoch in range(3):
        train.log((0, epoch), loss=10.0 - epoch)
        valid.log((0, epoch), loss=11.0 - epoch)
    return write_json(tmp_path / "history.json",
                      {"train": train.to_dict(),
                       "validation": valid.to_dict()})


def test_load_reads_a_runs_own_history_json(tmp_path):
    path = run_history_file(tmp_path)
    train = History.load(path)
    assert train.name == "train" and train.steps == [(0, 0), (0, 1), (0, 2)]
    assert train["loss"][1].tolist() == [10.0, 9.0, 8.0]
    valid = History.load(path, name="validation")
    assert valid["loss"][1].tolist() == [11.0, 10.0, 9.0]
    with pytest.raises(MoEVAEError, match=r"history.json.*no 'test'.*"
                       r"\['train', 'validation'\]"):
        History.load(path, name="test")


def test_load_names_a_single_history_it_does_not_hold(tmp_path):
    history = History("train")
    history.log(0, loss=1.0)
    path = history.save(tmp_path, fold=0, epoch=0)
    assert History.load(path, name="train").steps == [0]
    with pytest.raises(MoEVAEError, match="holds the history 'train', not "
                       "'validation'"):
        History.load(path, name="validation")


class PynetHistory:
    """Stands in for pynet's History, which pynet saves with pickle."""

    def __init__(self):
        self.name, self.history = "train", {(0, 0): {"loss": 1.0}}


def cut_in_half(path):
    text = path.read_bytes()
    path.write_bytes(text[:len(text) // 2])
    return path


@pytest.mark.parametrize("write, message", [
    (lambda p: p.write_bytes(pickle.dumps(PynetHistory())),
     "a Python pickle .pynet's format"),
    (lambda p: cut_in_half(run_history_file(p.parent)),
     r"not complete JSON \(.* line \d+ column \d+"),
    (lambda p: p.write_bytes(b""), r"empty \(0 bytes\)"),
    (lambda p: p.write_bytes(b"\xff\xfe\x00binary"), "not UTF-8 text"),
    (lambda p: p.write_text("[1, 2]"), "a JSON list"),
    (lambda p: p.write_text('{"name": "x", "metrics": [], "history": '
                            '[[0, 1.5]]}'), "step 0: values 1.5"),
    (lambda p: p.write_text('{"train": {"name": "train"}}'),
     "history.json: 'train': no 'metrics' list"),
])
def test_load_refuses_other_files_in_one_line(tmp_path, write, message):
    path = tmp_path / "history.json"
    write(path)
    with pytest.raises(MoEVAEError, match=message) as error:
        History.load(path)
    text = str(error.value)
    assert "\n" not in text and str(path) in text
    assert "expected the JSON that History.save or moevae train writes" in text


def test_unknown_metric_and_empty_history_are_named():
    history = History("train")
    with pytest.raises(MoEVAEError, match="'train' history is empty"):
        history.summary()
    with pytest.raises(MoEVAEError, match="'train' history is empty"):
        history.get_total_time()
    history.log(0, loss=1.0)
    with pytest.raises(MoEVAEError, match=r"metric='acc': expected one of "
                       r"\['loss'\]"):
        history["acc"]
    assert history.get_total_time().total_seconds() == 0


def test_a_value_that_is_not_a_number_is_named_and_not_recorded():
    history = History("train")
    history.log(0, loss=1.0)
    for bad in ("high", torch.tensor([1.0, 2.0]), np.zeros(3), None):
        with pytest.raises(MoEVAEError, match="metric 'acc'.*expected a "
                           "number or a 1-element tensor") as error:
            history.log(1, loss=0.5, acc=bad)
        assert "\n" not in str(error.value)
    assert history.steps == [0] and history.metrics == ["loss"]
    history.log(1, acc=torch.tensor([0.75]), top=np.array([[0.5]]))
    assert history["acc"][1].tolist()[1] == 0.75


def reject_constant(token):
    raise ValueError(f"non-standard JSON token {token}")


def test_non_finite_values_are_strict_json_and_read_back_as_nan(tmp_path):
    import json
    history = History("train")
    history.log((0, 0), loss=float("inf"), psnr=float("nan"), kl=1.0)
    history.log((0, 1), loss=-float("inf"), psnr=np.float32(2.5), kl=0.5)
    path = history.save(tmp_path, fold=0, epoch=1)
    payload = json.loads(path.read_text(), parse_constant=reject_constant)
    assert payload["history"][0][1]["loss"] is None
    loaded = History.load(path)
    assert np.isnan(loaded["loss"][1]).all()
    np.testing.assert_array_equal(loaded["kl"][1], [1.0, 0.5])
    assert np.isnan(loaded["psnr"][1][0]) and loaded["psnr"][1][1] == 2.5


@pytest.mark.parametrize("name, outdir, fold, message", [
    # the case: a name with a folder in it
    ("run/train", ".", 0, r"^History name='run/train': expected a plain file "
                          r"name without '/'"),
    # an outdir that does not exist, or is a file
    ("train", "missing", 0, r"^outdir='.*missing': expected an existing "
                            "folder$"),
    ("train", "file.txt", 0, r"^outdir='.*file.txt': expected an existing "
                             "folder$"),
    # a fold that is not an integer ends up in the file name
    ("train", ".", "0/1", r"^fold='0/1' \(str\): expected an integer$")])
def test_save_refuses_what_cannot_name_the_file_in_one_line(
        tmp_path, name, outdir, fold, message):
    (tmp_path / "file.txt").write_text("x")
    history = History(name)
    history.log((0, 1), loss=1.0)
    before = sorted(tmp_path.rglob("*"))
    with pytest.raises(MoEVAEError, match=message):
        history.save(tmp_path / outdir, fold=fold, epoch=1)
    assert sorted(tmp_path.rglob("*")) == before
