"""Small CPU training runs for tests: a noisy linear model on 48 rows."""
from unittest import mock

import numpy as np
import torch
import visdom

from moevae.datasets import DataManager
from moevae.interfaces import DeepLearningInterface
from moevae.plotting import Board, update_board

ROWS, BATCH = 48, 8  # six batches an epoch


def data(batch_size: int = BATCH, rows: int = ROWS,
         validation: bool = True) -> DataManager:
    """(rows, 3) float32 inputs whose column 0 is the sample's id."""
    generator = np.random.default_rng(0)
    inputs = generator.random((rows + 16, 3), dtype=np.float32)
    inputs[:, 0] = np.arange(rows + 16)
    outputs = inputs[:, 1:] @ np.array([[1.0], [-2.0]], np.float32)
    sets = dict(train_inputs=inputs[:rows], train_outputs=outputs[:rows])
    if validation:
        sets.update(validation_inputs=inputs[rows:],
                    validation_outputs=outputs[rows:])
    return DataManager.from_numpy(batch_size=batch_size, **sets)


class Noisy(torch.nn.Module):
    """Draws random numbers in its forward, as a VAE does."""

    def __init__(self):
        super().__init__()
        self.linear = torch.nn.Linear(2, 1)
        self.dropout = torch.nn.Dropout(0.3)

    def forward(self, x):
        return self.linear(self.dropout(x[:, 1:]))


def interface(lr: float = 0.01, optimizer_name: str = "Adam",
              **options) -> DeepLearningInterface:
    torch.manual_seed(0)
    return DeepLearningInterface(model=Noisy(), loss_name="MSELoss",
                                 optimizer_name=optimizer_name,
                                 learning_rate=lr, **options)


def train(net, folder, epochs, resume=False, manager=None, **options):
    options.setdefault("with_validation", False)
    return net.training(manager or data(), nb_epochs=epochs,
                        checkpointdir=None if folder is None else str(folder),
                        resume=resume, **options)


def same_weights(first, second) -> bool:
    return all(torch.equal(a, b) for a, b in zip(
        first.model.state_dict().values(), second.model.state_dict().values()))


def with_board(net):
    """A mocked board drawn after each epoch, and a side effect drawing
    random numbers (which must not change training)."""
    net.board = Board(client=mock.create_autospec(visdom.Visdom,
                                                  instance=True))
    net.add_observer("after_epoch", update_board)
    net.add_observer("after_epoch", lambda s: torch.rand(3), side_effect=True)
    return net
