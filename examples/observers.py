"""
Your own observer and callback
==============================

moevae's training loop emits pynet's signals (``before_epoch``,
``after_epoch``, ``before_batch``, ``after_batch``, ``regularizer``,
``after_training``). This example hooks three things into the loop of the
seed's model (:class:`moevae.models.FusedManager`, the fused form of the
pynet example's ten experts):

- a metric of your own, averaged per epoch and drawn on the board;
- a learning-rate schedule (a torch scheduler, stepped once per epoch);
- early stopping, a callback that ends training when the loss stalls.
"""
import os

import matplotlib.pyplot as plt
import torch

from moevae.datasets import DataManager, fetch_minst
from moevae.interfaces import DeepLearningInterface
from moevae.losses import ManagerLoss
from moevae.models import FusedManager
from moevae.plotting import Board, update_board

EPOCHS = max(3, int(os.environ.get("MOEVAE_EPOCHS", 10)))
data = fetch_minst(os.environ.get("MOEVAE_DATASETDIR",
                                  "~/.cache/moevae/mnist"))
manager = DataManager(input_path=data.input_path,
                      metadata_path=data.metadata_path,
                      stratify_label="label", number_of_folds=10,
                      batch_size=100, test_size=0,
                      input_transforms=[lambda image: image.flatten()],
                      add_input=True)

# %%
# A metric
# --------
# A metric is any callable ``metric(outputs, *targets)``; its per-batch
# values are averaged over the epoch and reach the ``after_epoch`` observers
# under the function's name, where :func:`moevae.plotting.update_board`
# draws each number in its own pane. This one is the share of the batch
# taken by the most used expert (0.1 when the ten experts share evenly).


def top_expert_share(probabilities, *targets):
    return probabilities.mean(dim=0).max()


model = FusedManager(input_dim=784, hidden_dim=128, latent_dim=20,
                     num_experts=10)
interface = DeepLearningInterface(model=model, optimizer_name="Adam",
                                  learning_rate=2e-3,
                                  loss=ManagerLoss(balancing_weight=0.1),
                                  metrics=[top_expert_share])
interface.board = Board(port=int(os.environ.get("MOEVAE_BOARD_PORT", 8097)),
                        env="observers")
interface.add_observer("after_epoch", update_board)

# %%
# An observer that draws
# ----------------------
# An observer receives one :class:`moevae.observable.SignalObject`: the
# interface as ``signal.object`` and the signal's values as attributes
# (``epoch``, ``loss``, ``lr``, every metric...). ``side_effect=True`` marks
# it as a plotting observer: if it fails, the failure is logged once and
# training goes on. ``board.viewer`` takes visdom's calls.

records = {"epoch": [], "loss": [], "lr": [], "top_expert_share": []}


def record_and_draw(signal):
    for key in records:
        records[key].append(float(getattr(signal, key)))
    signal.object.board.viewer.line(
        X=[signal.epoch], Y=[signal.loss * signal.lr], win="loss x lr",
        update="append" if signal.epoch else None,
        opts={"title": "loss x learning rate"})


interface.add_observer("after_epoch", record_and_draw, side_effect=True)

# %%
# Early stopping
# --------------
# A callback that changes training is registered with
# ``side_effect=False``: its exceptions stop training, as in pynet. This
# one stops when the loss improved by less than 2% over the last epoch.


class EarlyStop(Exception):
    pass


def stop_when_stalled(signal, patience=1, min_improvement=0.02):
    losses = records["loss"]
    if len(losses) > patience:
        best_before = min(losses[:-patience])
        if min(losses[-patience:]) > best_before * (1 - min_improvement):
            raise EarlyStop(f"epoch {signal.epoch}: loss {losses[-1]:.1f}, "
                            f"best before {best_before:.1f}")


interface.add_observer("after_epoch", stop_when_stalled, side_effect=False)

# %%
# Train with a schedule
# ---------------------
# The scheduler halves the learning rate after every epoch; moevae steps it
# once per epoch and saves its state in checkpoints.
scheduler = torch.optim.lr_scheduler.StepLR(interface.optimizer,
                                            step_size=1, gamma=0.5)
try:
    interface.training(manager=manager, nb_epochs=EPOCHS, fold_index=0,
                       scheduler=scheduler, with_validation=False)
    print(f"trained all {EPOCHS} epochs")
except EarlyStop as stop:
    print(f"stopped early: {stop}")
interface.close()

# %%
# What the observer recorded
# --------------------------
figure, (left, right) = plt.subplots(1, 2, figsize=(9, 3.2))
left.plot(records["epoch"], records["loss"], "o-")
left.set(xlabel="epoch", ylabel="training loss")
right.plot(records["epoch"], records["lr"], "o-", label="learning rate")
right.set(xlabel="epoch", yscale="log")
twin = right.twinx()
twin.plot(records["epoch"], records["top_expert_share"], "s--", color="C1",
          label="top expert share")
figure.legend(loc="upper right")
figure.tight_layout()
plt.show()
