import numpy as np
import pytest

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
