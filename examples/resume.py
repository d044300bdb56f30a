"""
Stop, resume and extend a run
=============================

A run that writes checkpoints (``checkpointdir``) can be stopped at any
batch and continued later, in the same process or another one, and ends
with exactly the weights an uninterrupted run would have (on the CPU). A
finished run can also be extended with more epochs.

Here a callback stops the first run in the middle of its second epoch by
sending the process SIGINT, as Ctrl-C would; moevae finishes the current
step, writes a checkpoint and raises
:class:`moevae.errors.TrainingInterrupted`. The command line does the same
with ``moevae train --resume runs/NAME`` (and ``--epochs N`` to extend).
"""
import os
import signal
import tempfile
from pathlib import Path

import matplotlib.pyplot as plt

from moevae.datasets import DataManager, fetch_minst
from moevae.errors import TrainingInterrupted
from moevae.interfaces import DeepLearningInterface
from moevae.losses import ManagerLoss
from moevae.models import FusedManager

EPOCHS = max(2, int(os.environ.get("MOEVAE_EPOCHS", 4)))
data = fetch_minst(os.environ.get("MOEVAE_DATASETDIR",
                                  "~/.cache/moevae/mnist"))
runs = Path(os.environ.get("MOEVAE_RUNS") or tempfile.mkdtemp())
checkpoints = runs / "resume-example" / "checkpoints"


def new_interface(learning_rate=1e-3):
    """What a fresh process would build: the model, its loss, the data.
    ``training(resume=True)`` puts back weights, optimizer, RNG states and
    the data order from the checkpoint."""
    manager = DataManager(input_path=data.input_path,
                          metadata_path=data.metadata_path,
                          stratify_label="label", number_of_folds=10,
                          batch_size=100, test_size=0,
                          input_transforms=[lambda image: image.flatten()],
                          add_input=True)
    interface = DeepLearningInterface(
        model=FusedManager(), optimizer_name="Adam",
        learning_rate=learning_rate,
        loss=ManagerLoss(balancing_weight=0.1))
    return interface, manager


# %%
# Stop in the middle of epoch 2
# -----------------------------
interface, manager = new_interface()


def interrupt(signal_object):
    in_progress = signal_object.object.epoch_in_progress
    if in_progress == 1 and signal_object.batch == 5:
        os.kill(os.getpid(), signal.SIGINT)


interface.epoch_in_progress = 0
interface.add_observer("before_epoch", lambda s: setattr(
    s.object, "epoch_in_progress", s.epoch), side_effect=False)
interface.add_observer("after_batch", interrupt, side_effect=False)
try:
    interface.training(manager=manager, nb_epochs=EPOCHS,
                       checkpointdir=str(checkpoints), fold_index=0,
                       with_validation=False)
except TrainingInterrupted as stop:
    print(f"interrupted: {stop}")
print(sorted(path.name for path in checkpoints.iterdir()))

# %%
# Resume where it stopped
# -----------------------
# A new interface (as in a new process) continues from the newest complete
# checkpoint: the rest of epoch 2, then the remaining epochs.
interface, manager = new_interface()
train_history, _ = interface.training(
    manager=manager, nb_epochs=EPOCHS, checkpointdir=str(checkpoints),
    fold_index=0, with_validation=False, resume=True)

# %%
# Extend the finished run
# -----------------------
# More epochs than the run has continue it; settings given now take effect
# from there on (here a smaller learning rate), while those that define the
# run (model shape, fold, data) are refused in one line if they differ.
interface, manager = new_interface(learning_rate=5e-4)
extended_history, _ = interface.training(
    manager=manager, nb_epochs=EPOCHS + 2, checkpointdir=str(checkpoints),
    fold_index=0, with_validation=False, resume=True)
print(extended_history)

# %%
# One curve across the three calls
# --------------------------------
steps, losses = extended_history["loss"]
epochs = [epoch + 1 for fold, epoch in steps]
plt.figure(figsize=(5, 3))
plt.plot(epochs, losses, "o-")
plt.axvline(2, color="grey", linestyle=":", label="stopped and resumed")
plt.axvline(EPOCHS + 0.5, color="C1", linestyle="--", label="extended")
plt.xlabel("epoch")
plt.ylabel("training loss")
plt.legend()
plt.tight_layout()
plt.show()
