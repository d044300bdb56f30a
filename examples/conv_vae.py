"""
Your own model and loss: a convolutional VAE
============================================

The training loop is not tied to the mixture of experts: any
``torch.nn.Module`` and any loss callable train the same way, with the
same checkpoints, board, observers and resume. The pynet convention holds:
the model returns ``(outputs, layer_outputs)``, the loss receives the
outputs and the targets, and reads ``self.layer_outputs`` (set by the loop
before each call); it returns the loss and a dict of named terms, each
logged and drawn per epoch.

This one is a small convolutional VAE on the 28 x 28 images, with a
Bernoulli likelihood.
"""
import os

import matplotlib.pyplot as plt
import torch
import torch.nn as nn
import torch.nn.functional as func

from moevae.datasets import DataManager, fetch_minst
from moevae.interfaces import DeepLearningInterface
from moevae.plotting import Board, update_board

EPOCHS = int(os.environ.get("MOEVAE_EPOCHS", 10))
data = fetch_minst(os.environ.get("MOEVAE_DATASETDIR",
                                  "~/.cache/moevae/mnist"))
manager = DataManager(input_path=data.input_path,
                      metadata_path=data.metadata_path,
                      stratify_label="label", number_of_folds=10,
                      batch_size=100, test_size=0, add_input=True)


class ConvVAE(nn.Module):
    def __init__(self, latent_dim=16):
        super().__init__()
        self.latent_dim = latent_dim
        self.encoder = nn.Sequential(
            nn.Conv2d(1, 16, 4, stride=2, padding=1), nn.ReLU(),   # 14 x 14
            nn.Conv2d(16, 32, 4, stride=2, padding=1), nn.ReLU(),  # 7 x 7
            nn.Flatten(), nn.Linear(32 * 7 * 7, 2 * latent_dim))
        self.decoder = nn.Sequential(
            nn.Linear(latent_dim, 32 * 7 * 7), nn.ReLU(),
            nn.Unflatten(1, (32, 7, 7)),
            nn.ConvTranspose2d(32, 16, 4, stride=2, padding=1), nn.ReLU(),
            nn.ConvTranspose2d(16, 1, 4, stride=2, padding=1))

    def forward(self, x):
        mu, logvar = self.encoder(x).chunk(2, dim=1)
        z = mu + torch.randn_like(mu) * torch.exp(0.5 * logvar)
        return self.decoder(z), {"mu": mu, "logvar": logvar}


class BernoulliVAELoss:
    def __init__(self):
        self.layer_outputs = None

    def __call__(self, logits, x):
        mu, logvar = self.layer_outputs["mu"], self.layer_outputs["logvar"]
        reconstruction = func.binary_cross_entropy_with_logits(
            logits, x, reduction="none").flatten(1).sum(1).mean()
        kl = 0.5 * (mu.pow(2) + logvar.exp() - 1 - logvar).sum(1).mean()
        return reconstruction + kl, {"reconstruction": reconstruction,
                                     "kl": kl}


model = ConvVAE()
interface = DeepLearningInterface(model=model, optimizer_name="Adam",
                                  learning_rate=2e-3, loss=BernoulliVAELoss())
interface.board = Board(port=int(os.environ.get("MOEVAE_BOARD_PORT", 8097)),
                        env="conv-vae")
interface.add_observer("after_epoch", update_board)
train_history, valid_history = interface.training(
    manager=manager, nb_epochs=EPOCHS, fold_index=0, with_validation=True)
interface.close()
print(train_history)

# %%
# Reconstructions and new images
# ------------------------------
# The validation digits of fold 0 (top), their reconstructions (middle),
# and decoded draws from N(0, I) (bottom).
loaders = manager.get_dataloader(validation=True, fold_index=0)
images = next(iter(loaders.validation)).inputs[:10]
model.eval()
with torch.no_grad():
    logits, _ = model(images.to(interface.device))
    new = model.decoder(torch.randn(10, model.latent_dim,
                                    device=interface.device))
rows = [images, torch.sigmoid(logits).cpu(), torch.sigmoid(new).cpu()]
figure, axes = plt.subplots(3, 10, figsize=(10, 3.2))
for row, batch in zip(axes, rows):
    for ax, image in zip(row, batch):
        ax.imshow(image.reshape(28, 28).numpy(), cmap="gray")
        ax.axis("off")
plt.show()
