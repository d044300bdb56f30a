"""The pynet example, with only its imports renamed, runs on moevae."""
import ast
import runpy
import warnings
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

import moevae.plotting
from moevae.history import History
from moevae.plotting import Board

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "moe_vae.py"
LOSS_KEYS = ("loss", "expected_expert_loss", "balancing_loss")


def test_example_differs_from_pynet_only_in_imports_and_settings():
    text = EXAMPLE.read_text()
    docstring = ast.get_docstring(ast.parse(text), clean=False)
    assert "Unsupervised MoE VAE" in docstring  # the gallery page's title
    body = text.split('"""', 2)[2]
    code = [line for line in body.splitlines() if not line.startswith("#")]
    assert not [line for line in code if "pynet" in line]
    for module in ("datasets", "interfaces", "plotting"):
        assert f"from moevae.{module} import" in text
    assert "class ManagerLoss(object):" in text  # the seed's own classes


@pytest.mark.slow
@pytest.mark.parametrize("epochs", [1, 2])
def test_seed_example_trains_and_draws_on_the_board(
        monkeypatch, mnist_dir, mock_viewer, epochs, capsys):
    boards = []

    def mocked_board(**options):
        assert options == {"port": 8097, "host": "http://localhost",
                           "env": "vae"}
        boards.append(Board(client=mock_viewer, **options))
        return boards[-1]
    monkeypatch.setattr(moevae.plotting, "Board", mocked_board)
    monkeypatch.setenv("MOEVAE_EPOCHS", str(epochs))
    monkeypatch.setenv("MOEVAE_DATASETDIR", str(mnist_dir))
    monkeypatch.delenv("CI_MODE", raising=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        namespace = runpy.run_path(str(EXAMPLE), run_name="__main__")
    assert len(boards) == 1
    windows = Counter(call.kwargs["win"]
                      for call in mock_viewer.line.call_args_list)
    for key in LOSS_KEYS:
        assert windows[key] == epochs, key
    seen = set()
    for call in mock_viewer.line.call_args_list:  # create, then append
        window = call.kwargs["win"]
        assert call.kwargs["update"] == ("append" if window in seen else None)
        seen.add(window)
    images = mock_viewer.images.call_args_list
    assert len(images) == epochs
    array = images[0].args[0]
    assert array.shape == (10, 1, 140, 140)
    assert array.min() >= 0 and array.max() == pytest.approx(255)
    assert images[0].kwargs["win"] == "sampling"
    # the seed's names are swapped: test_history holds the training losses
    steps, losses = namespace["test_history"]["loss"]
    assert len(steps) == len(losses) == epochs
    assert np.isfinite(losses).all() and (losses > 0).all()
    assert (np.diff(losses) < 0.05 * losses[:-1]).all()  # decreasing-ish
    validation = namespace["train_history"]
    assert isinstance(validation, History)
    assert len(validation) == 0  # the example trains with_validation=False
    last = capsys.readouterr().out.strip().splitlines()[-1]
    assert (last == "moe_vae.py: done; the board is at "
        "http://localhost:8097/env/vae")  # a client-backed board keeps no log
