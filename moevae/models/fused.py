"""FusedManager: the seed's mixture of VAE experts with stacked weights.

The same function as :class:`~moevae.models.experts.Manager` over
:class:`~moevae.models.experts.VAE` experts, computed with a few large
kernels instead of ~10 small ones per expert:

- the first layers of the manager and of every encoder read the same input,
  so they are one ``(manager_hidden + K * hidden) x input_dim`` matrix and
  one matmul;
- the per-expert layers after it are batched matmuls over stacked weights.

Weights are created by building the per-expert modules in the seed's order
and stacking them, so a given torch seed gives the very same initial
weights as the seed's model. :func:`fuse_state_dict` and
:func:`split_state_dict` convert checkpoints both ways; ``load_state_dict``
accepts either layout, and ``model._experts[k].decoder(z)`` still works.
"""
from typing import Any, Dict, List, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as func

from .experts import VAE, VAR_EPSILON, Manager, build_manager
from .global_batch import batch_noise

StateDict = Dict[str, torch.Tensor]
EXPERT_KEY = "_experts.{k}.{name}"
EXPERT_LAYERS = {  # fused name -> per-expert module path
    "latent": ("encoder.mu", "encoder.logvar"),
    "dec_hidden": ("decoder.latent_to_hidden",),
    "dec_out": ("decoder.hidden_to_out",),
}


class FusedManager(nn.Module):
    """K VAE experts and their manager, weights stacked per layer."""

    # registered from the stacked per-expert weights (see __init__)
    in_weight: nn.Parameter
    in_bias: nn.Parameter
    latent_weight: nn.Parameter
    latent_bias: nn.Parameter
    dec_hidden_weight: nn.Parameter
    dec_hidden_bias: nn.Parameter
    dec_out_weight: nn.Parameter
    dec_out_bias: nn.Parameter
    linear2: nn.Linear

    def __init__(self, input_dim: int = 784, hidden_dim: int = 128,
                 latent_dim: int = 20, num_experts: int = 10):
        super().__init__()
        self.input_dim, self.hidden_dim = input_dim, hidden_dim
        self.latent_dim, self.num_experts = latent_dim, num_experts
        reference = build_manager(input_dim, hidden_dim, latent_dim,
                                  num_experts)
        stacked = fuse_state_dict(reference.state_dict())
        for name in ("in", *EXPERT_LAYERS):
            for kind in ("weight", "bias"):
                self.register_parameter(f"{name}_{kind}", nn.Parameter(
                    stacked[f"{name}_{kind}"].clone()))
        self.linear2 = reference.linear2  # no new init: same RNG stream

    # -- forward -----------------------------------------------------------
    def forward(self, x: torch.Tensor):
        """(probs (B, K), FusedOutputs with (K, B, .) tensors per expert).

        Hidden layers are feature-major, (K, features, B), so each is one
        (batched) matmul of contiguous operands; the output layer is
        batch-major, (K, B, D), so the loss's passes over it (the largest
        tensor of a step) run along contiguous pixels.
        """
        hidden = torch.sigmoid(torch.addmm(self.in_bias.unsqueeze(1),
                                           self.in_weight, x.t()))
        gate_hidden, expert_hidden = hidden.split(
            [self.gate_rows, self.num_experts * self.hidden_dim])
        probs = self.gate_from_hidden(x, gate_hidden)
        z_mu, z_var = self.encode_hidden(expert_hidden.view(
            self.num_experts, self.hidden_dim, -1))
        z = self.draw_noise(z_var).mul(torch.sqrt(z_var)).add_(z_mu)
        logits = self.decode_logits(z)
        return probs, FusedOutputs(logits=logits, z_mu=z_mu.transpose(1, 2),
                                   z_var=z_var.transpose(1, 2))

    @property
    def gate_rows(self) -> int:
        """Rows of ``in_weight`` that belong to the manager (first)."""
        return self.hidden_dim

    def gate_from_hidden(self, x: torch.Tensor, gate_hidden: torch.Tensor
                         ) -> torch.Tensor:
        """(B, K) probabilities from the manager's (H, B) hidden units."""
        return func.softmax(func.linear(gate_hidden.t(), self.linear2.weight,
                                        self.linear2.bias), dim=1)

    def gate(self, x: torch.Tensor) -> torch.Tensor:
        """The manager's probabilities alone (no expert is run)."""
        hidden = torch.sigmoid(func.linear(
            x, self.in_weight[:self.hidden_dim],
            self.in_bias[:self.hidden_dim]))
        return func.softmax(self.linear2(hidden), dim=1)

    @staticmethod
    def draw_noise(z_var: torch.Tensor) -> torch.Tensor:
        """N(0, 1) noise like (K, L, B) ``z_var``, drawn in (K, B, L) order.

        The seed's experts draw (B, L) each, one after the other; drawing
        in that order gives them the very same numbers whenever B * L is a
        multiple of 16 (torch's CPU normal sampler works in blocks of 16).
        Under torchrun, drawn for the global batch (moevae.training.distributed).
        """
        experts, latent, batch = z_var.shape
        return batch_noise(1, experts, batch, latent, like=z_var
                           ).transpose(1, 2)

    def encode_hidden(self, hidden: torch.Tensor
                      ) -> Tuple[torch.Tensor, torch.Tensor]:
        """(K, H, B) encoder hidden units -> z_mu, z_var of (K, L, B)."""
        latent = torch.baddbmm(self.latent_bias.unsqueeze(2),
                               self.latent_weight, hidden)
        z_mu, z_logvar = latent.split(self.latent_dim, dim=1)
        return z_mu, torch.exp(z_logvar) + VAR_EPSILON

    def decode_logits(self, z: torch.Tensor) -> torch.Tensor:
        """(K, L, B) latent codes -> (K, B, D) pixel logits."""
        hidden = torch.sigmoid(torch.baddbmm(
            self.dec_hidden_bias.unsqueeze(2), self.dec_hidden_weight, z))
        return torch.baddbmm(self.dec_out_bias.unsqueeze(1),
                             hidden.transpose(1, 2),
                             self.dec_out_weight.transpose(1, 2))

    @property
    def _experts(self) -> List["ExpertView"]:
        """Per-expert views (``.decoder(z)``, ``.encoder(x)``, call)."""
        return [ExpertView(self, k) for k in range(self.num_experts)]

    # -- conversion --------------------------------------------------------
    def load_state_dict(self, state_dict, strict: bool = True,
                        assign: bool = False):
        """Load a fused or a per-expert (seed ``Manager``) state dict."""
        return super().load_state_dict(self.convert_state_dict(state_dict),
                                       strict=strict, assign=assign)

    @staticmethod
    def convert_state_dict(state_dict: StateDict) -> StateDict:
        """A seed ``Manager`` state dict fused; a fused one unchanged."""
        if any(key.startswith("_experts.") for key in state_dict):
            return fuse_state_dict(state_dict)
        return state_dict

    @classmethod
    def from_manager(cls, manager: Manager) -> "FusedManager":
        """Fuse a seed ``Manager`` of ``VAE`` experts (weights copied)."""
        expert = manager._experts[0]
        assert isinstance(expert, VAE)  # the seed's experts
        fused = cls(expert.encoder.linear.in_features,
                    expert.encoder.linear.out_features,
                    manager.latent_dim, len(manager._experts))
        fused.load_state_dict(manager.state_dict())
        return fused.to(next(manager.parameters()).device)

    def to_manager(self) -> Manager:
        """A seed ``Manager`` with this model's weights."""
        manager = build_manager(self.input_dim, self.hidden_dim,
                                self.latent_dim, self.num_experts)
        manager.load_state_dict(split_state_dict(self.state_dict()))
        return manager.to(self.in_weight.device)


class ExpertView:
    """Expert ``k`` of a FusedManager, used like the seed's ``VAE``."""

    def __init__(self, fused: FusedManager, k: int):
        self.fused, self.k = fused, k

    def encoder(self, x: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        f, k, h = self.fused, self.k, self.fused.hidden_dim
        start = f.gate_rows + h * k
        hidden = torch.sigmoid(func.linear(
            x, f.in_weight[start:start + h], f.in_bias[start:start + h]))
        latent = func.linear(hidden, f.latent_weight[k], f.latent_bias[k])
        return latent.split(f.latent_dim, dim=-1)

    def decoder(self, z: torch.Tensor) -> torch.Tensor:
        f, k = self.fused, self.k
        hidden = torch.sigmoid(func.linear(z, f.dec_hidden_weight[k],
                                           f.dec_hidden_bias[k]))
        return torch.sigmoid(func.linear(hidden, f.dec_out_weight[k],
                                         f.dec_out_bias[k]))

    def __call__(self, x: torch.Tensor):
        z_mu, z_logvar = self.encoder(x)
        z_var = torch.exp(z_logvar) + VAR_EPSILON
        z = batch_noise(0, *z_var.shape, like=z_var).mul(
            torch.sqrt(z_var)).add_(z_mu)
        return self.decoder(z), {"z_mu": z_mu, "z_var": z_var}

    def eval(self) -> "ExpertView":
        """Switch the whole fused model to eval mode (as a module would)."""
        self.fused.eval()
        return self

    def train(self, mode: bool = True) -> "ExpertView":
        self.fused.train(mode)
        return self


class FusedOutputs(dict):
    """A FusedManager's layer outputs, as (K, B, .) tensors.

    ``logits``, ``z_mu`` and ``z_var`` are computed by the forward pass;
    ``x_pred`` (sigmoid of the logits) and the seed's ``experts_results``
    list are computed the first time they are read.
    """
    LAZY = ("x_pred", "experts_results")

    def __contains__(self, key) -> bool:
        return key in self.LAZY or super().__contains__(key)

    def __missing__(self, key: str) -> Any:
        value: Any
        if key == "x_pred":
            value = torch.sigmoid(self["logits"])
        elif key == "experts_results":
            value = ExpertResults(self["x_pred"], self["z_mu"], self["z_var"])
        else:
            raise KeyError(key)
        self[key] = value
        return value


class ExpertResults(list):
    """The seed's ``experts_results``: [(x_pred_k, {z_mu, z_var}), ...]."""

    def __init__(self, x_pred, z_mu, z_var):
        super().__init__((x_pred[k], {"z_mu": z_mu[k], "z_var": z_var[k]})
                         for k in range(len(x_pred)))


def fuse_state_dict(per_expert: StateDict) -> StateDict:
    """Seed ``Manager`` state dict -> FusedManager state dict."""
    count = 1 + max(int(key.split(".")[1]) for key in per_expert
                    if key.startswith("_experts."))

    def stacked(path: str, kind: str, k_range=range(count)) -> torch.Tensor:
        return torch.stack([per_expert[EXPERT_KEY.format(
            k=k, name=f"{path}.{kind}")] for k in k_range])

    fused = {}
    for kind in ("weight", "bias"):
        first = [per_expert[f"linear1.{kind}"]] + [
            per_expert[EXPERT_KEY.format(k=k, name=f"encoder.linear.{kind}")]
            for k in range(count)]
        fused[f"in_{kind}"] = torch.cat(first)
        for name, paths in EXPERT_LAYERS.items():
            fused[f"{name}_{kind}"] = torch.cat(
                [stacked(path, kind) for path in paths], dim=1)
        fused[f"linear2.{kind}"] = per_expert[f"linear2.{kind}"]
    return fused


def split_state_dict(fused: StateDict) -> StateDict:
    """FusedManager state dict -> seed ``Manager`` state dict."""
    count = fused["latent_weight"].shape[0]
    hidden = fused["in_weight"].shape[0] // (count + 1)
    per_expert = {}
    for kind in ("weight", "bias"):
        first = fused[f"in_{kind}"].split(hidden)
        per_expert[f"linear1.{kind}"] = first[0].clone()
        per_expert[f"linear2.{kind}"] = fused[f"linear2.{kind}"].clone()
        for k in range(count):
            key = EXPERT_KEY.format(k=k, name=f"encoder.linear.{kind}")
            per_expert[key] = first[k + 1].clone()
            for name, paths in EXPERT_LAYERS.items():
                parts = fused[f"{name}_{kind}"][k].chunk(len(paths))
                for path, part in zip(paths, parts):
                    key = EXPERT_KEY.format(k=k, name=f"{path}.{kind}")
                    per_expert[key] = part.clone()
    return per_expert
