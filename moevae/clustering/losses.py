"""Clustering losses: the seed's mixture objective after a warm start on a
start partition, and the EM objective of a mixture of experts."""
from typing import Optional

import torch

from ..errors import MoEVAEValueError, bad_value
from ..losses import Losses, ManagerLoss, log_probabilities, require_layer_outputs


class WarmStartLoss(ManagerLoss):
    """ManagerLoss, after ``warm_epochs`` epochs on an initial partition.

    During the warm start each expert fits the images of its own cluster
    and the manager learns the partition (cross-entropy, weighted by
    ``anchor_weight``); the partition comes as the labels (third argument).
    After it, the manager's cross-entropy to the partition stays in the
    loss with weight ``kept_anchor_weight`` (0, the default: the seed's
    loss alone). With ``self_labelling``, that kept anchor's target is the
    partition relabelled by the manager itself (:meth:`relabel`).
    Register :meth:`set_epoch` as a ``before_epoch`` observer.
    """

    def __init__(self, balancing_weight: float = 0.1, warm_epochs: int = 5,
                 anchor_weight: float = 100.0,
                 kept_anchor_weight: float = 0.0,
                 consistency_weight: float = 0.0,
                 confidence: float = 0.95, self_labelling: bool = False):
        super().__init__(balancing_weight)
        if not 0 < confidence <= 1:
            raise bad_value("confidence", confidence, "a probability in "
                            "(0, 1]")
        if self_labelling and not kept_anchor_weight > 0:
            raise bad_value("self_labelling", self_labelling, "False with "
                            f"kept_anchor_weight={kept_anchor_weight!r} (it "
                            "relabels the kept anchor)")
        self.warm_epochs, self.anchor_weight = warm_epochs, anchor_weight
        self.kept_anchor_weight = kept_anchor_weight
        self.consistency_weight, self.confidence = (consistency_weight,
            confidence)
        self.self_labelling = self_labelling
        self.epoch = 0

    def set_epoch(self, signal) -> None:
        """A ``before_epoch`` observer: the loss follows the epochs."""
        self.epoch = signal.epoch

    def __call__(self, probs: torch.Tensor, x: torch.Tensor,
                 partition: Optional[torch.Tensor] = None) -> Losses:
        losses = self.expert_losses(x)
        combined, parts = self.combine(losses, probs)
        if self.consistency_weight:
            consistency = self.consistency(probs)
            parts = dict(parts, consistency_loss=consistency)
            if self.epoch >= self.warm_epochs:
                combined = combined + self.consistency_weight * consistency
        warm = partition is not None and self.epoch < self.warm_epochs
        weight = self.anchor_weight if warm else self.kept_anchor_weight
        if partition is None or weight == 0:
            return combined, dict(parts, anchor_loss=torch.zeros_like(
                combined))
        if self.self_labelling and not warm:
            partition = self.relabel(partition, probs)
        anchor = torch.nn.functional.nll_loss(log_probabilities(probs),
                                              partition)
        if warm:
            chosen = torch.nn.functional.one_hot(partition, losses.shape[1])
            combined = (losses * chosen).sum(dim=1).mean()
        return combined + weight * anchor, dict(parts, anchor_loss=anchor)

    def relabel(self, partition: torch.Tensor, probs: torch.Tensor
                ) -> torch.Tensor:
        """(B,) int64 labels: the partition, except where the manager's
        probability is at least ``confidence``: there, its most probable
        expert.

        The manager's probabilities are those for the unmoved images
        (``clean_probs``) when the model gives them, else ``probs`` (B, K)
        themselves, detached (no second pass of the manager).
        Self-labelling (SCAN, Van Gansbeke et al., 2020, section 3.3)
        kept on the start: an image the manager is unsure of keeps its
        start label, so the manager corrects the start where it has
        learnt better and cannot drift where it has not.
        """
        clean = require_layer_outputs(self.layer_outputs).get("clean_probs")
        source = probs.detach() if clean is None else clean
        confidence, own = source.max(dim=1)
        return torch.where(confidence >= self.confidence, own, partition)

    def consistency(self, probs: torch.Tensor) -> torch.Tensor:
        """FixMatch's term (Sohn et al., 2020) on the manager.

        Cross-entropy of the manager on moved images (``probs``) toward
        its own most probable expert for the same images unmoved
        (``layer_outputs['clean_probs']``), over the images where that
        expert's probability is at least ``confidence``; 0 without
        ``clean_probs`` in eval mode. Raises MoEVAEValueError when a
        training step comes without them.
        """
        clean = require_layer_outputs(self.layer_outputs).get("clean_probs")
        if clean is None and probs.requires_grad:
            raise MoEVAEValueError(
                "consistency_weight: the model's layer outputs have no "
                "'clean_probs' (build ConvGatedManager(..., clean_probs=True))")
        if clean is None:
            return probs.new_zeros(())
        confidence, target = clean.max(dim=1)
        kept = (confidence >= self.confidence).to(probs.dtype)
        nll = torch.nn.functional.nll_loss(log_probabilities(probs), target,
                                           reduction="none")
        return (nll * kept).sum() / len(probs)



class ResponsibilityLoss(WarmStartLoss):
    """The EM objective of a mixture of experts (Jordan & Jacobs, 1994).

    Each expert's ELBO is its likelihood: the posterior responsibility of
    expert k for image b is ``h_bk ∝ g_bk exp(-L_bk / temperature)`` (g the
    manager's probabilities, L the VAE losses, both detached). The experts
    minimise ``sum_k h_bk L_bk`` and the manager the cross-entropy
    ``-sum_k h_bk log g_bk`` toward them, plus the seed's balancing term;
    a warm start on a partition comes first (:class:`WarmStartLoss`).
    """

    def __init__(self, balancing_weight: float = 0.1, warm_epochs: int = 5,
                 anchor_weight: float = 100.0,
                 kept_anchor_weight: float = 0.0, temperature: float = 1.0):
        super().__init__(balancing_weight, warm_epochs, anchor_weight,
                         kept_anchor_weight)
        self.temperature = temperature

    def combine(self, losses: torch.Tensor, probs: torch.Tensor) -> Losses:
        log_probs = log_probabilities(probs)
        responsibilities = torch.softmax(
            log_probs.detach() - losses.detach() / self.temperature, dim=1)
        expert_loss = (responsibilities * losses).sum(dim=1).mean(dim=0)
        gate_loss = -(responsibilities * log_probs).sum(dim=1).mean(dim=0)
        balancing_loss = self.balancing_loss(probs)
        return (expert_loss + gate_loss + self.balancing_weight *
            balancing_loss, {"expected_expert_loss": expert_loss,
                             "gate_loss": gate_loss,
                             "balancing_loss": balancing_loss})
