"""The seed's per-expert modules: MLP VAE experts and a softmax manager.

These are the pynet gallery example's ``Encoder``, ``Decoder``, ``VAE`` and
``Manager`` as library code (the manager's softmax is taken over dim=1,
where the seed relied on an implicit, deprecated choice). Each expert is a
separate module run one after the other: the faithful, slower layout; see
:class:`moevae.models.FusedManager` for the same function with stacked
weights.
"""
from typing import Dict, List, Protocol, Sequence, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as func

from ..errors import bad_type
from .global_batch import batch_noise

VAR_EPSILON = 1e-5
Latent = Dict[str, torch.Tensor]


class Encoder(nn.Module):
    """x -> (z_mu, z_logvar) through one sigmoid hidden layer."""

    def __init__(self, input_dim: int, hidden_dim: int, latent_dim: int):
        super().__init__()
        self.linear = nn.Linear(input_dim, hidden_dim)
        self.mu = nn.Linear(hidden_dim, latent_dim)
        self.logvar = nn.Linear(hidden_dim, latent_dim)

    def forward(self, x: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        hidden = torch.sigmoid(self.linear(x))
        return self.mu(hidden), self.logvar(hidden)


class Decoder(nn.Module):
    """z -> pixel means in (0, 1) through one sigmoid hidden layer."""

    def __init__(self, latent_dim: int, hidden_dim: int, output_dim: int):
        super().__init__()
        self.latent_to_hidden = nn.Linear(latent_dim, hidden_dim)
        self.hidden_to_out = nn.Linear(hidden_dim, output_dim)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        hidden = torch.sigmoid(self.latent_to_hidden(z))
        return torch.sigmoid(self.hidden_to_out(hidden))


class VAE(nn.Module):
    """One expert: returns (reconstruction, {'z_mu', 'z_var'})."""

    def __init__(self, input_dim: int, hidden_dim: int, latent_dim: int):
        super().__init__()
        self.encoder = Encoder(input_dim, hidden_dim, latent_dim)
        self.decoder = Decoder(latent_dim, hidden_dim, input_dim)

    def forward(self, x: torch.Tensor) -> Tuple[torch.Tensor, Latent]:
        z_mu, z_logvar = self.encoder(x)
        z_var = torch.exp(z_logvar) + VAR_EPSILON
        noise = batch_noise(0, *z_var.shape, like=z_var)  # global batch
        z = noise.mul(torch.sqrt(z_var)).add_(z_mu)
        return self.decoder(z), {"z_mu": z_mu, "z_var": z_var}


class Manager(nn.Module):
    """Gating network over experts: returns (probs, {'experts_results'})."""

    def __init__(self, input_dim: int, hidden_dim: int,
                 experts: Sequence[nn.Module], latent_dim: int,
                 log_alpha=None):
        super().__init__()
        self._experts = nn.ModuleList(experts)
        self.latent_dim = latent_dim
        self._experts_results: List = []
        self.linear1 = nn.Linear(input_dim, hidden_dim)
        self.linear2 = nn.Linear(hidden_dim, len(experts))

    def forward(self, x: torch.Tensor):
        probs = self.gate(x)
        self._experts_results = [expert(x) for expert in self._experts]
        return probs, {"experts_results": self._experts_results}

    def gate(self, x: torch.Tensor) -> torch.Tensor:
        """The manager's probabilities (B, K) alone (no expert is run)."""
        hidden = torch.sigmoid(self.linear1(x))
        return func.softmax(self.linear2(hidden), dim=1)


def build_manager(input_dim: int = 784, hidden_dim: int = 128,
                  latent_dim: int = 20, num_experts: int = 10) -> Manager:
    """The seed's model: experts created first, then the manager layers."""
    experts = [VAE(input_dim, hidden_dim, latent_dim)
               for _ in range(num_experts)]
    return Manager(input_dim, hidden_dim, experts, latent_dim)


class Expert(Protocol):
    """What code outside the model uses of an expert: its decoder, latent
    codes (B, latent_dim) -> pixel means (B, D) in (0, 1)."""

    def decoder(self, z: torch.Tensor) -> torch.Tensor: ...


def experts_of(model: nn.Module) -> List[Expert]:
    """The experts of a mixture: a seed ``Manager``'s VAE modules, or a
    FusedManager's per-expert views.

    Raises MoEVAETypeError for a model without experts.
    """
    experts = getattr(model, "_experts", None)
    if experts is None:
        raise bad_type("model", model, "a mixture of experts (Manager or "
                       "FusedManager)")
    return list(experts)


def latent_dim_of(model: nn.Module) -> int:
    """The experts' latent size (the columns of the codes they decode)."""
    return int(getattr(model, "latent_dim"))  # noqa: B009 (nn.Module typing)
