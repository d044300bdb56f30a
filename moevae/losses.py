"""The seed's losses: a Gaussian VAE loss and the mixture-of-experts loss.

pynet's loss protocol: the interface sets ``loss.layer_outputs`` (the dict
the model returned beside its main output) before calling
``loss(outputs, *targets)``, which returns ``(loss, {component: value})``.

:class:`ManagerLoss` reads either layout of ``layer_outputs``:
- ``experts_results``, a list of ``(x_pred, {'z_mu', 'z_var'})`` per expert
  (the seed's ``Manager``): each expert through :class:`VAELoss` and
  ``torch.distributions``, exactly as the seed computes it;
- stacked ``logits`` or ``x_pred`` (K, B, D), ``z_mu`` and ``z_var``
  (K, B, L) (the :class:`~moevae.models.FusedManager`): the same values in
  closed form, for all experts at once.
"""
import inspect
import math
from typing import Any, Dict, Optional, Tuple

import torch
from torch.distributions import Normal, kl_divergence

from .errors import MoEVAEValueError, bad_type, bad_value
from .models.global_batch import batch_sum
from .training.precision import full_precision

PIXEL_STD = 0.5
# -log N(x; mu, 0.5) = 2 (x - mu)^2 + log(0.5) + log(2 pi) / 2, per pixel
PIXEL_NLL_SCALE = 1.0 / (2 * PIXEL_STD ** 2)
PIXEL_NLL_CONSTANT = math.log(PIXEL_STD) + 0.5 * math.log(2 * math.pi)
Losses = Tuple[torch.Tensor, Dict[str, torch.Tensor]]


def log_probabilities(probs: torch.Tensor) -> torch.Tensor:
    """log p in float32, p clamped at 1e-8 so that a 0 gives no -inf."""
    return full_precision(probs).clamp_min(1e-8).log()


def require_layer_outputs(layer_outputs: Optional[dict]) -> dict:
    if layer_outputs is None:
        raise MoEVAEValueError(
            "loss.layer_outputs is None: the model must return "
            "(outputs, {'z_mu', 'z_var', ...}) so the interface can pass the "
            "latent distribution parameters to the loss")
    return layer_outputs


STANDARD_NORMAL = Normal(0.0, 1.0, validate_args=False)


class VAELoss:
    """Negative log-likelihood (Normal, std 0.5) plus KL to N(0, I)."""

    def __init__(self, use_distributions: bool = True):
        self.layer_outputs: Optional[dict] = None
        self.use_distributions = use_distributions

    def __call__(self, x_sample, x: torch.Tensor) -> Losses:
        layer_outputs = require_layer_outputs(self.layer_outputs)
        if self.use_distributions:
            p, q = x_sample, layer_outputs["q"]
        else:
            # valid by construction (std 0.5, sqrt(var + eps) > 0): torch's
            # argument checks would cost a host sync each on CUDA
            p = Normal(x_sample, PIXEL_STD, validate_args=False)
            q = Normal(layer_outputs["z_mu"], layer_outputs["z_var"].pow(0.5),
                       validate_args=False)
        ll_loss = -p.log_prob(x).sum(-1, keepdim=True)
        kl_loss = kl_divergence(q, STANDARD_NORMAL).sum(-1, keepdim=True)
        return ll_loss + kl_loss, {"ll_loss": ll_loss, "kl_loss": kl_loss}


def gaussian_nll(x_pred: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """-log N(x; x_pred, 0.5^2) summed over the last dim, in closed form."""
    squared = (x - full_precision(x_pred)).square().sum(-1)
    return nll_of_squared_error(squared, x.shape[-1])


def nll_of_squared_error(squared: torch.Tensor, pixels: int
                         ) -> torch.Tensor:
    """The Gaussian NLL of ``pixels`` pixels from their summed (x - mean)^2."""
    return PIXEL_NLL_SCALE * squared + pixels * PIXEL_NLL_CONSTANT


class _SigmoidGaussianNLL(torch.autograd.Function):
    """-log N(x; sigmoid(logits), 0.5^2) with a fused backward pass."""

    @staticmethod
    def forward(ctx, logits: torch.Tensor, x: torch.Tensor):
        # logits: (K, B, D), x: (B, D); sums over D
        x_pred = torch.sigmoid(full_precision(logits))
        diff = x_pred - x
        ctx.save_for_backward(x_pred, diff)
        ctx.dtype = logits.dtype
        squared = torch.linalg.vector_norm(diff, dim=-1).square_()
        return nll_of_squared_error(squared, x.shape[-1])

    @staticmethod
    def backward(ctx, grad: torch.Tensor):
        x_pred, diff = ctx.saved_tensors  # kept intact: retain_graph
        scaled = diff.mul((2 * PIXEL_NLL_SCALE * grad).unsqueeze(-1))
        grad_logits = torch.ops.aten.sigmoid_backward.grad_input(
            scaled, x_pred, grad_input=scaled)  # in place: one buffer
        return grad_logits.to(ctx.dtype), None


def sigmoid_gaussian_nll(logits: torch.Tensor, x: torch.Tensor
                         ) -> torch.Tensor:
    """gaussian_nll(sigmoid(logits), x) for (K, B, D) logits -> (K, B).

    Same value as the two-step form, with one fused backward pass; every
    pass runs along contiguous pixels when ``logits`` is contiguous, as the
    FusedManager returns it.
    """
    return _SigmoidGaussianNLL.apply(logits, full_precision(x))


def standard_normal_kl(z_mu: torch.Tensor, z_var: torch.Tensor
                       ) -> torch.Tensor:
    """KL(N(z_mu, z_var) || N(0, 1)) summed over the last dim."""
    z_mu, z_var = full_precision(z_mu), full_precision(z_var)
    return 0.5 * (z_var + z_mu.square() - 1 - z_var.log()).sum(-1)


class ManagerLoss:
    """Expected expert loss under the manager, plus a balancing term.

    ``loss = mean_b sum_k p_bk L_bk + w * Var_k(sum_b p_bk)`` where ``L_bk``
    is expert k's VAE loss on sample b and ``w`` the balancing weight. The
    balancing term is a statistic of the whole batch: under torchrun its
    sums run over every rank's share (moevae.models.global_batch.batch_sum).
    """

    def __init__(self, balancing_weight: float = 0.1):
        self.layer_outputs: Optional[dict] = None
        self.balancing_weight = balancing_weight
        self.criterion = VAELoss(use_distributions=False)

    def __call__(self, probs: torch.Tensor, x: torch.Tensor) -> Losses:
        return self.combine(self.expert_losses(x), probs)

    def expert_losses(self, x: torch.Tensor) -> torch.Tensor:
        """(B, K) VAE loss of every expert on every sample."""
        layer_outputs = require_layer_outputs(self.layer_outputs)
        if "logits" in layer_outputs or "x_pred" in layer_outputs:
            return self.stacked_losses(layer_outputs, x)
        return self.per_expert_losses(layer_outputs, x)

    def combine(self, losses: torch.Tensor, probs: torch.Tensor) -> Losses:
        """The manager-weighted expert loss plus the balancing term."""
        probs = full_precision(probs)
        expected_expert_loss = (losses * probs).sum(dim=1).mean(dim=0)
        balancing_loss = self.balancing_loss(probs)
        combined = (expected_expert_loss +
            self.balancing_weight * balancing_loss)
        return combined, {"expected_expert_loss": expected_expert_loss,
                          "balancing_loss": balancing_loss}

    @staticmethod
    def balancing_loss(probs: torch.Tensor) -> torch.Tensor:
        """Var_k(sum_b p_bk): the spread of the experts' importance, summed
        over every rank's share of the batch under DDP."""
        return batch_sum(full_precision(probs)).var(dim=0, unbiased=False)

    def per_expert_losses(self, layer_outputs: dict, x: torch.Tensor
                          ) -> torch.Tensor:
        """(B, K) VAE losses, one expert at a time, as the seed does."""
        losses = []
        for x_pred, latent in layer_outputs["experts_results"]:
            self.criterion.layer_outputs = latent
            loss, _ = self.criterion(x_pred, x)
            losses.append(loss.view(-1, 1))
        return torch.cat(losses, dim=1)

    @staticmethod
    def stacked_losses(layer_outputs: dict, x: torch.Tensor) -> torch.Tensor:
        """(B, K) VAE losses from stacked (K, B, .) expert outputs."""
        if "logits" in layer_outputs:
            nll = sigmoid_gaussian_nll(layer_outputs["logits"], x)
        else:
            nll = gaussian_nll(layer_outputs["x_pred"], x)
        kl = standard_normal_kl(layer_outputs["z_mu"], layer_outputs["z_var"])
        return (nll + kl).transpose(0, 1)


def build_loss(loss: Any, loss_name: str) -> Any:
    """``loss`` itself (a callable ``loss(outputs, *targets)``), or an
    instance of the torch.nn loss class named ``loss_name``.

    Raises MoEVAETypeError for a non-callable ``loss``, MoEVAEValueError
    for an unknown name or both given (pynet's default 'NLLLoss' counts as
    not given).
    """
    if loss is not None:
        if loss_name != "NLLLoss":
            raise bad_value("loss_name", loss_name, "no loss_name with "
                            "loss= (one or the other)")
        if not callable(loss):
            raise bad_type("loss", loss, "a callable loss(outputs, *targets)")
        return loss
    klass = getattr(torch.nn, loss_name, None)
    if not (inspect.isclass(klass) and issubclass(klass, torch.nn.Module)
            and loss_name.endswith("Loss")):
        raise bad_value("loss_name", loss_name, "a torch.nn loss class name "
                        "such as 'MSELoss', or a loss= callable")
    return klass()
