"""Recipes: a model, a loss and an optimizer setting, chosen by name.

``seed`` is the pynet example's configuration, kept as the faithful
default: 10 MLP VAE experts (784-128-20), a softmax manager, the Gaussian
VAE loss weighted by the manager plus 0.1 x a balancing term, Adam 1e-3.
"""
from dataclasses import asdict, dataclass, field
from typing import Any, Callable, Dict, List

import torch

from .errors import bad_value
from .losses import ManagerLoss
from .models import FusedManager, build_manager


@dataclass
class Recipe:
    """How to build and train a mixture of VAE experts."""
    name: str
    input_dim: int = 28 * 28
    hidden_dim: int = 128
    latent_dim: int = 20
    num_experts: int = 10
    learning_rate: float = 1e-3
    balancing_weight: float = 0.1
    observers: List[Callable] = field(default_factory=list)

    def build_model(self, layout: str = "fused") -> torch.nn.Module:
        """The fused model (default) or the seed's per-expert modules."""
        if layout == "fused":
            return FusedManager(self.input_dim, self.hidden_dim,
                                self.latent_dim, self.num_experts)
        if layout == "per-expert":
            return build_manager(self.input_dim, self.hidden_dim,
                                 self.latent_dim, self.num_experts)
        raise bad_value("layout", layout, "'fused' or 'per-expert'")

    def build_loss(self) -> Any:
        return ManagerLoss(balancing_weight=self.balancing_weight)

    def describe(self) -> Dict[str, Any]:
        return {key: value for key, value in asdict(self).items()
                if key != "observers"}


RECIPES: Dict[str, Callable[[], Recipe]] = {
    "seed": lambda: Recipe(name="seed"),
}


def get_recipe(name: str) -> Recipe:
    if name not in RECIPES:
        raise bad_value("recipe", name, f"one of {sorted(RECIPES)}")
    return RECIPES[name]()
