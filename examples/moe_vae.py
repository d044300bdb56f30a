"""
Unsupervised MoE VAE
====================

The pynet gallery example "Unsupervised MoE VAE", run with moevae: the code
is the published example's, with ``pynet`` replaced by ``moevae`` in its
imports. The epoch count, the dataset folder and the board's port may come
from the environment (``MOEVAE_EPOCHS``, ``MOEVAE_DATASETDIR``,
``MOEVAE_BOARD_PORT``) so that it can be run quickly.

Ten VAE experts (784-128-20) share the images through a manager network
that gives each image a probability per expert; the loss is the
manager-weighted VAE loss plus a balancing term. The board shows the loss
curves and, every epoch, one sample decoded by each expert.
"""
import os
import sys
if "CI_MODE" in os.environ:
    sys.exit()
import numpy as np
from scipy import ndimage
import matplotlib.pyplot as plt
import torch
import torch.nn as nn
import torch.nn.functional as func
from torch.distributions import Normal, kl_divergence
from moevae.datasets import DataManager, fetch_minst
from moevae.interfaces import DeepLearningInterface
from moevae.plotting import Board, update_board


def flatten(arr):
    return arr.flatten()


data = fetch_minst(datasetdir=os.environ.get(
    "MOEVAE_DATASETDIR", "/neurospin/nsap/datasets/minst"))
manager = DataManager(
    input_path=data.input_path,
    metadata_path=data.metadata_path,
    stratify_label="label",
    number_of_folds=10,
    batch_size=100,
    test_size=0,
    input_transforms=[flatten],
    add_input=True,
    sample_size=1)


class Encoder(nn.Module):
    def __init__(self, input_dim, hidden_dim, latent_dim):
        super().__init__()
        self.linear = nn.Linear(input_dim, hidden_dim)
        self.mu = nn.Linear(hidden_dim, latent_dim)
        self.logvar = nn.Linear(hidden_dim, latent_dim)

    def forward(self, x):
        hidden = torch.sigmoid(self.linear(x))
        z_mu = self.mu(hidden)
        z_logvar = self.logvar(hidden)
        return z_mu, z_logvar


class Decoder(nn.Module):
    def __init__(self, latent_dim, hidden_dim, output_dim):
        super().__init__()
        self.latent_to_hidden = nn.Linear(latent_dim, hidden_dim)
        self.hidden_to_out = nn.Linear(hidden_dim, output_dim)

    def forward(self, x):
        hidden = torch.sigmoid(self.latent_to_hidden(x))
        predicted = torch.sigmoid(self.hidden_to_out(hidden))
        return predicted


class VAE(nn.Module):
    def __init__(self, input_dim, hidden_dim, latent_dim):
        super(VAE, self).__init__()
        self.encoder = Encoder(input_dim, hidden_dim, latent_dim)
        self.decoder = Decoder(latent_dim, hidden_dim, input_dim)

    def forward(self, x):
        z_mu, z_logvar = self.encoder(x)
        z_var = torch.exp(z_logvar) + 1e-5
        std = torch.sqrt(z_var)
        eps = torch.randn_like(std)
        x_sample = eps.mul(std).add_(z_mu)
        predicted = self.decoder(x_sample)
        return predicted, {"z_mu": z_mu, "z_var": z_var}


class VAELoss(object):
    def __init__(self, use_distributions=True):
        super(VAELoss, self).__init__()
        self.layer_outputs = None
        self.use_distributions = use_distributions

    def __call__(self, x_sample, x):
        if self.layer_outputs is None:
            raise ValueError("The model needs to return the latent space "
                             "distribution parameters z_mu, z_var.")
        if self.use_distributions:
            p = x_sample
            q = self.layer_outputs["q"]
        else:
            z_mu = self.layer_outputs["z_mu"]
            z_var = self.layer_outputs["z_var"]
            p = Normal(x_sample, 0.5)
            q = Normal(z_mu, z_var.pow(0.5))
        ll_loss = - p.log_prob(x).sum(-1, keepdim=True)
        kl_loss = kl_divergence(q, Normal(0, 1)).sum(-1, keepdim=True)
        combined_loss = ll_loss + kl_loss
        return combined_loss, {"ll_loss": ll_loss, "kl_loss": kl_loss}


class Manager(nn.Module):
    def __init__(self, input_dim, hidden_dim, experts, latent_dim,
                 log_alpha=None):
        super(Manager, self).__init__()
        self._experts = nn.ModuleList(experts)
        self.latent_dim = latent_dim
        self._experts_results = []
        self.linear1 = nn.Linear(input_dim, hidden_dim)
        self.linear2 = nn.Linear(hidden_dim, len(experts))

    def forward(self, x):
        hidden = torch.sigmoid(self.linear1(x))
        logits = self.linear2(hidden)
        probs = func.softmax(logits)
        self._experts_results = []
        for net in self._experts:
            self._experts_results.append(net(x))
        return probs, {"experts_results": self._experts_results}


class ManagerLoss(object):
    def __init__(self, balancing_weight=0.1):
        super(ManagerLoss, self).__init__()
        self.layer_outputs = None
        self.balancing_weight = balancing_weight
        self.criterion = VAELoss(use_distributions=False)

    def __call__(self, probs, x):
        if self.layer_outputs is None:
            raise ValueError("The model needs to return the latent space "
                             "distribution parameters z_mu, z_var.")
        losses = []
        for result in self.layer_outputs["experts_results"]:
            self.criterion.layer_outputs = result[1]
            loss, extra_loss = self.criterion(result[0], x)
            losses.append(loss.view(-1, 1))
        losses = torch.cat(losses, dim=1)
        expected_expert_loss = torch.mean(
            torch.sum(losses * probs, dim=1), dim=0)
        experts_importance = torch.sum(probs, dim=0)
        experts_importance_std = experts_importance.std(dim=0, unbiased=False)
        balancing_loss = torch.pow(experts_importance_std, 2)
        combined_loss = (
            expected_expert_loss + self.balancing_weight * balancing_loss)
        return combined_loss, {"expected_expert_loss": expected_expert_loss,
                               "balancing_loss": balancing_loss}


def sampling(signal):
    device = signal.object.device
    experts = signal.object.model._experts
    latent_dim = signal.object.model.latent_dim
    board = signal.object.board
    z = torch.randn(1, latent_dim).to(device)
    images = []
    for model in experts:
        model.eval()
        with torch.no_grad():
            reconstructed_img = model.decoder(z)
        img = reconstructed_img.view(-1, 28, 28).cpu().detach().numpy()
        img = np.asarray([ndimage.zoom(arr, 5, order=0) for arr in img])
        images.append(img)
    images = np.asarray(images)
    images = (images / images.max()) * 255
    board.viewer.images(
        images,
        opts={
            "title": "sampling",
            "caption": "sampling"},
        win="sampling")


latent_dim = 20
experts = [
    VAE(input_dim=(28 * 28), hidden_dim=128, latent_dim=latent_dim)
    for idx in range(10)]
model = Manager(input_dim=(28 * 28), hidden_dim=128, experts=experts,
                latent_dim=latent_dim)
interface = DeepLearningInterface(
    model=model,
    optimizer_name="Adam",
    learning_rate=0.001,
    loss=ManagerLoss(balancing_weight=0.1),
    use_cuda=True)
interface.board = Board(
    port=int(os.environ.get("MOEVAE_BOARD_PORT", 8097)),
    host="http://localhost",
    env="vae")
interface.add_observer("after_epoch", update_board)
interface.add_observer("after_epoch", sampling)
test_history, train_history = interface.training(
    manager=manager,
    nb_epochs=int(os.environ.get("MOEVAE_EPOCHS", 100)),
    checkpointdir=None,
    fold_index=0,
    with_validation=False)
# moevae addition (pynet's example prints nothing): where the results are
log = interface.board.log_path
started = interface.board.server is not None  # by this script's Board
if interface.distributed.is_main:  # once under torchrun
    print(f"moe_vae.py: done; the board is at {interface.board.url}/env/vae"
          + (f", its offline log in {log.resolve()}" if log else "")
          + ("; its server keeps running: `moevae board --stop` stops it"
             if started else ""))

# %%
# What the board's ``sampling`` pane showed last (a moevae addition): one
# draw from N(0, I) decoded by each expert, the same images the ``sampling``
# observer sent.
figure, axes = plt.subplots(1, len(experts), figsize=(10, 1.4))
z = torch.randn(1, latent_dim)
for index, (expert, ax) in enumerate(zip(experts, axes)):
    expert.eval()
    with torch.no_grad():
        image = expert.decoder(z.to(interface.device)).view(28, 28).cpu()
    ax.imshow(image.numpy(), cmap="gray")
    ax.set_title(f"expert {index}", fontsize=8)
    ax.axis("off")
plt.show()
