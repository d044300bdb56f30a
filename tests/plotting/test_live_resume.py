"""A run killed between drawing an epoch and checkpointing it, resumed:
the board (server windows and board.jsonl) shows what the history holds."""
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from moevae.plotting.journal import read_log

pytestmark = [pytest.mark.integration, pytest.mark.slow]
SCRIPT = Path(__file__).parents[1] / "support" / "killable_train.py"


def xs(window, name="train"):
    return next(trace["x"] for trace in window["content"]["data"]
                if trace["name"] == name)


@pytest.mark.parametrize("save_every, killed_in, epochs", [
    ("1", "model_0_epoch_3.pth", 5),  # the reported case: epoch 4 drawn
    ("2", "model_0_epoch_4.pth", 5),  # two epochs drawn then thrown away
    ("1", "model_0_epoch_0.pth", 2),  # killed in the first checkpoint
])
def test_resumed_board_shows_each_epoch_once(tmp_path, mnist_dir,
                                             visdom_server, save_every,
                                             killed_in, epochs):
    run_dir = tmp_path / "run"
    common = ["--board", visdom_server.url, "--datasetdir", str(mnist_dir),
              "--seed", "2"]
    killed = subprocess.run(
        [sys.executable, str(SCRIPT), *common, "--epochs", str(epochs),
         "--save-every", save_every, "--run-dir", str(run_dir), "--name",
         "resumed"], env=dict(os.environ, KILL_AT_NAME=killed_in,
                              KILL_DELAY_S="2"),
        capture_output=True, text=True, timeout=300)
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    drawn = xs(visdom_server.windows("resumed")["loss"])
    assert drawn[-1] == int(killed_in.split("_")[-1][:-4]) + 1  # drawn
    resumed = subprocess.run(
        [sys.executable, "-m", "moevae", "train", "--resume", str(run_dir)],
        capture_output=True, text=True, timeout=300)
    assert resumed.returncode == 0, resumed.stderr
    expected = [float(x) for x in range(1, epochs + 1)]
    windows = visdom_server.windows("resumed")
    for window in ("loss", "lr", "epoch_time"):
        assert xs(windows[window]) == expected, window
    batches = xs(windows["batch_loss"])
    assert batches == sorted(batches) and len(batches) == len(set(batches))
    assert len(batches) == 7 * epochs
    journal, _ = read_log(run_dir / "board.jsonl")
    logged = dict(journal.window_messages())[("resumed", "loss")]
    assert logged[0][1]["data"][0]["x"] == expected
    history = json.loads((run_dir / "history.json").read_text())
    assert len(history["train"]["history"]) == epochs
