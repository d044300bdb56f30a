"""Recipes: a model, a loss and an optimizer setting, chosen by name.

``pynet-example`` (alias ``seed``) is the pynet example's configuration,
kept as the faithful default: 10 MLP VAE experts (784-128-20), a softmax
manager, the Gaussian VAE loss weighted by the manager plus 0.1 x a
balancing term, Adam 1e-3.

The others start from an unsupervised partition of the images
(:mod:`moevae.clustering.partition`): for 5 epochs each expert fits one cluster and
the manager learns the partition, then a mixture-of-experts loss takes
over. ``umap-conv-anchored`` (a convolutional manager, kept on the
partition) is the one that clusters the 70,000 MNIST digits best over 5
seeds; the README's "Clustering" section gives every recipe's scores.
"""
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any, Callable, Dict

from ..errors import bad_value
from .choices import METHODS

if TYPE_CHECKING:  # torch and the models load when a model is built
    import torch

GATES = ("mlp", "conv")


@dataclass
class Recipe:
    """How to build and train a mixture of VAE experts.

    ``partition``: the start's embedding, "umap" or "tsne" (used when
    ``warm_start_epochs`` > 0). ``gate``: "mlp" (the seed's manager) or
    "conv" (:class:`~moevae.models.convolutional.ConvGatedManager`).
    After the warm start: ``kept_anchor_weight`` x the manager's
    cross-entropy to the partition, ``consistency_weight`` x FixMatch's
    term, or, with ``responsibilities``, the EM objective at
    ``temperature`` (:mod:`moevae.losses`). With ``self_labelling`` the
    kept anchor's target is the partition relabelled by the manager's
    confident predictions (:meth:`~moevae.clustering.losses.WarmStartLoss.relabel`).
    """
    name: str
    input_dim: int = 28 * 28
    hidden_dim: int = 128
    latent_dim: int = 20
    num_experts: int = 10
    learning_rate: float = 1e-3
    balancing_weight: float = 0.1
    warm_start_epochs: int = 0
    anchor_weight: float = 100.0
    partition: str = "umap"
    gate: str = "mlp"
    kept_anchor_weight: float = 0.0
    consistency_weight: float = 0.0
    responsibilities: bool = False
    temperature: float = 1.0
    self_labelling: bool = False

    def __post_init__(self) -> None:
        if self.partition not in METHODS:
            raise bad_value("partition", self.partition, f"one of {METHODS}")
        if self.gate not in GATES:
            raise bad_value("gate", self.gate, f"one of {GATES}")
        if self.responsibilities and self.consistency_weight:
            raise bad_value("consistency_weight", self.consistency_weight,
                            "0 with responsibilities=True (the EM loss has "
                            "no consistency term)")
        if self.self_labelling and not (self.kept_anchor_weight > 0 and
                                        self.warm_start_epochs > 0 and
                                        not self.responsibilities):
            raise bad_value("self_labelling", self.self_labelling,
                            "False unless kept_anchor_weight > 0, "
                            "warm_start_epochs > 0 and responsibilities="
                            "False (it relabels the start partition the "
                            "kept anchor holds)")

    def build_model(self, layout: str = "fused") -> "torch.nn.Module":
        """The fused model (default) or the seed's per-expert modules."""
        from ..models import FusedManager, build_manager
        from ..models.convolutional import ConvGatedManager
        self.check_layout(layout)
        if self.gate == "conv":
            return ConvGatedManager(self.input_dim, self.hidden_dim,
                                    self.latent_dim, self.num_experts,
                                    clean_probs=self.needs_clean_probs)
        if layout == "fused":
            return FusedManager(self.input_dim, self.hidden_dim,
                                self.latent_dim, self.num_experts)
        return build_manager(self.input_dim, self.hidden_dim,
                             self.latent_dim, self.num_experts)

    def check_layout(self, layout: str) -> None:
        """Refuse, in one line, a layout this recipe's model has not."""
        if layout not in ("fused", "per-expert"):
            raise bad_value("layout", layout, "'fused' or 'per-expert'")
        if self.gate == "conv" and layout != "fused":
            raise bad_value("layout", layout, "'fused' for recipe "
                            f"{self.name!r} (a convolutional manager has "
                            "no per-expert layout)")

    @property
    def needs_clean_probs(self) -> bool:
        """True when the loss reads the manager on the unmoved images."""
        return self.consistency_weight > 0

    @property
    def needs_partition(self) -> bool:
        """True when the loss wants an initial partition as its labels."""
        return self.warm_start_epochs > 0

    def build_loss(self) -> Any:
        from ..losses import ManagerLoss
        from .losses import ResponsibilityLoss, WarmStartLoss
        if self.responsibilities:
            return ResponsibilityLoss(
                self.balancing_weight, self.warm_start_epochs,
                self.anchor_weight, self.kept_anchor_weight,
                self.temperature)
        if self.needs_partition:
            return WarmStartLoss(self.balancing_weight,
                                 self.warm_start_epochs, self.anchor_weight,
                                 self.kept_anchor_weight,
                                 self.consistency_weight,
                                 self_labelling=self.self_labelling)
        return ManagerLoss(balancing_weight=self.balancing_weight)

    def attach(self, interface) -> None:
        """Register what the loss needs to follow the epochs."""
        if hasattr(interface.loss, "set_epoch"):
            interface.add_observer("before_epoch", interface.loss.set_epoch)

    def describe(self) -> Dict[str, Any]:
        return asdict(self)


RECIPES: Dict[str, Callable[[], Recipe]] = {
    # the pynet example's model and loss, as the seed script trains them
    "pynet-example": lambda: Recipe(name="pynet-example"),
    # an unsupervised starting partition (PCA + t-SNE + Gaussian mixture,
    # see moevae.clustering.partition), 5 warm-up epochs on it, then the seed's loss
    "tsne-warm-start": lambda: Recipe(name="tsne-warm-start",
                                      warm_start_epochs=5, partition="tsne"),
    # the same from a UMAP start: linear cost, ~1 minute on 70,000 digits
    "umap-warm-start": lambda: Recipe(name="umap-warm-start",
                                      warm_start_epochs=5),
    # levers on the UMAP start (README, "Clustering"): a convolutional
    # manager that sees moved copies of each image ...
    "umap-conv-manager": lambda: Recipe(name="umap-conv-manager",
                                        warm_start_epochs=5, gate="conv"),
    # ... plus FixMatch's consistency term on the manager (best on one
    # seed, but it can merge two digits late in a run)
    "umap-conv-consistency": lambda: Recipe(
        name="umap-conv-consistency", warm_start_epochs=5, gate="conv",
        consistency_weight=100.0),
    # ... or kept on the partition after the warm start (stable)
    "umap-conv-anchored": lambda: Recipe(
        name="umap-conv-anchored", warm_start_epochs=5, gate="conv",
        kept_anchor_weight=100.0),
    # ... FixMatch's consistency with the anchor kept beside it, so that
    # confident pseudo-labels cannot pull two digits into one expert
    "umap-conv-anchored-consistency": lambda: Recipe(
        name="umap-conv-anchored-consistency", warm_start_epochs=5,
        gate="conv", kept_anchor_weight=100.0, consistency_weight=100.0),
    # ... kept on the start relabelled by the manager where it is
    # confident (self-labelling, no second pass): it corrects the start
    # and cannot drift far from it
    "umap-conv-self-labelling": lambda: Recipe(
        name="umap-conv-self-labelling", warm_start_epochs=5, gate="conv",
        kept_anchor_weight=100.0, self_labelling=True),
    # ... or trained EM-style toward the experts' responsibilities
    "umap-conv-em": lambda: Recipe(name="umap-conv-em", warm_start_epochs=5,
                                   gate="conv", responsibilities=True),
}


# earlier names, still accepted: ``seed`` read like the --seed flag
ALIASES = {"seed": "pynet-example"}
DEFAULT = "pynet-example"
# the recipe that clusters the 70,000 MNIST digits best over 5 seeds
# (docs/guide/clustering.rst, made by experiments/clustering_study.py)
BEST = "umap-conv-self-labelling"


def recipe_name(name: str) -> str:
    """The recipe's name, an alias replaced by the name it stands for."""
    return ALIASES.get(name, name)


def get_recipe(name: str) -> Recipe:
    """The recipe ``name`` (or an alias of it, see ALIASES).

    Raises MoEVAEValueError naming the known recipes.
    """
    name = recipe_name(name)
    if name not in RECIPES:
        raise bad_value("recipe", name, f"one of {sorted(RECIPES)}")
    return RECIPES[name]()
