"""A library script for the torchrun tests (run by torchrun, not pytest).

Trains DeepLearningInterface on small arrays with a mocked board and
writes, per rank, the sample ids it drew and the board calls it made to
``$MOEVAE_TEST_OUT/rank<R>.json``.
"""
import faulthandler
import json
import os
import sys
from pathlib import Path
from unittest import mock

import numpy as np
import torch
import visdom

from moevae.datasets import DataManager
from moevae.interfaces import DeepLearningInterface
from moevae.plotting import Board, update_board

faulthandler.dump_traceback_later(90, exit=True)  # a hang shows where
ROWS = int(os.environ.get("MOEVAE_TEST_ROWS", "90"))
EPOCHS = int(os.environ.get("MOEVAE_TEST_EPOCHS", "2"))
BATCH = int(os.environ.get("MOEVAE_TEST_BATCH", "20"))
out = Path(os.environ["MOEVAE_TEST_OUT"])
rank = int(os.environ.get("RANK", "0"))
torch.manual_seed(0)
torch.set_num_threads(1)
inputs = np.random.default_rng(0).random((ROWS, 3), dtype=np.float32)
inputs[:, 0] = np.arange(ROWS)  # sample ids
outputs = inputs[:, 1:2] * 2 - inputs[:, 2:3]
manager = DataManager.from_numpy(train_inputs=inputs, train_outputs=outputs,
                                 batch_size=BATCH)


class Model(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.linear = torch.nn.Linear(2, 1)

    def forward(self, x):
        return self.linear(x[:, 1:])


interface = DeepLearningInterface(model=Model(), loss_name="MSELoss",
                                  optimizer_name="SGD", learning_rate=0.1)
viewer = mock.create_autospec(visdom.Visdom, instance=True)
interface.board = Board(client=viewer)
interface.add_observer("after_epoch", update_board)
seen = []
interface.add_observer("before_batch", lambda s: seen.extend(
    s.item.inputs[:, 0].long().tolist()))
steps = []
if os.environ.get("MOEVAE_TEST_DIE_AT") == f"{rank}:" + os.environ.get(
        "TORCHELASTIC_RESTART_COUNT", "0"):  # SIGKILL at the 7th step
    interface.add_observer("after_batch", lambda s: steps.append(1) or (
        len(steps) == 7 and os.kill(os.getpid(), 9)))
history, _ = interface.training(
    manager, nb_epochs=EPOCHS, with_validation=False,
    checkpointdir=os.environ.get("MOEVAE_TEST_CHECKPOINTS"))
(out / f"rank{rank}.json").write_text(json.dumps({
    "seen": seen, "board_calls": len(viewer.method_calls),
    "steps": [list(step) for step in history.steps],
    "loss": history["loss"][1].tolist(),
    "weights": [p.tolist() for p in interface.model.parameters()]}))
sys.exit(0)
