"""Unsupervised clustering scores: ACC (Hungarian matching), NMI and ARI.

The cluster of an image is the manager's most probable expert. ACC is the
share of images whose cluster maps to their label under the best
one-to-one assignment of clusters to labels (scipy's
``linear_sum_assignment``); NMI and ARI are scikit-learn's.
"""
from dataclasses import asdict, dataclass
from typing import Dict, List

import numpy as np
import torch
from scipy.optimize import linear_sum_assignment
from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score

from ..errors import bad_value

COLLAPSE_SHARE = 0.02



@dataclass
class ClusteringScores:
    """Scores of one clustering against the labels."""
    acc: float
    nmi: float
    ari: float
    usage: List[float]          # share of images per expert
    confusion: List[List[int]]  # experts x labels counts

    @property
    def collapsed(self) -> int:
        """Experts given less than 2% of the images."""
        return int(sum(share < COLLAPSE_SHARE for share in self.usage))

    def as_dict(self) -> Dict:
        return dict(asdict(self), collapsed=self.collapsed,
                    expert_digits=expert_digits(np.asarray(self.confusion)))



def confusion_matrix(clusters: np.ndarray, labels: np.ndarray,
                     clusters_count: int, labels_count: int) -> np.ndarray:
    """counts[k, c]: images of label c put in cluster k."""
    counts = np.zeros((clusters_count, labels_count), dtype=np.int64)
    np.add.at(counts, (clusters, labels), 1)
    return counts



def clustering_accuracy(labels: np.ndarray, clusters: np.ndarray) -> float:
    """Best one-to-one cluster -> label accuracy (Hungarian matching)."""
    labels, clusters = _check(labels, clusters)
    return matched_share(confusion_matrix(clusters, labels, clusters.max() + 1,
                                          labels.max() + 1))



def matched_share(counts: np.ndarray) -> float:
    """Share of a confusion matrix on its best one-to-one matching."""
    rows, cols = linear_sum_assignment(counts, maximize=True)
    return float(counts[rows, cols].sum() / counts.sum())



def expert_digits(counts: np.ndarray) -> List[int]:
    """Each expert's digit: the one-to-one matching that ACC scores
    (Hungarian, on ``counts[expert, digit]``); an expert left out of it
    (more experts than digits) gets its most frequent digit."""
    counts = np.asarray(counts)
    digits = counts.argmax(axis=1)
    rows, cols = linear_sum_assignment(counts, maximize=True)
    digits[rows] = cols
    return [int(digit) for digit in digits]


def score_clustering(labels: np.ndarray, clusters: np.ndarray,
                     clusters_count: int) -> ClusteringScores:
    """ACC, NMI, ARI, usage shares and confusion of a clustering."""
    labels, clusters = _check(labels, clusters)
    counts = confusion_matrix(clusters, labels, clusters_count,
                              labels.max() + 1)
    return ClusteringScores(
        acc=matched_share(counts),
        nmi=float(normalized_mutual_info_score(labels, clusters)),
        ari=float(adjusted_rand_score(labels, clusters)),
        usage=(np.bincount(clusters, minlength=clusters_count) /
               len(clusters)).tolist(),
        confusion=counts.tolist())



@torch.no_grad()
def manager_probabilities(model: torch.nn.Module, inputs: torch.Tensor,
                          batch_size: int = 1000) -> np.ndarray:
    """The manager's probabilities, float32 (N, K), for (N, D) ``inputs``.

    Runs in eval mode on the model's device, ``batch_size`` rows at a time;
    the caller's RNG state is left as it was.
    """
    was_training = model.training
    model.eval()
    device = next(model.parameters()).device
    probabilities = []
    with torch.random.fork_rng(devices=[]):
        for start in range(0, len(inputs), batch_size):
            batch = inputs[start:start + batch_size].to(device)
            gate = getattr(model, "gate", None)
            probs = gate(batch) if gate is not None else model(batch)[0]
            probabilities.append(probs.float().cpu())
    model.train(was_training)
    return torch.cat(probabilities).numpy()



def manager_clusters(model: torch.nn.Module, inputs: torch.Tensor,
                     batch_size: int = 1000) -> np.ndarray:
    """The manager's argmax expert for each row of ``inputs``."""
    return manager_probabilities(model, inputs, batch_size).argmax(axis=1)



def _check(labels, clusters):
    labels, clusters = np.asarray(labels), np.asarray(clusters)
    if labels.shape != clusters.shape or labels.ndim != 1 or not len(labels):
        raise bad_value("clusters", clusters.shape,
                        f"one cluster per label, shape {labels.shape}")
    for name, values in (("labels", labels), ("clusters", clusters)):
        if values.dtype.kind not in "iu" or values.min() < 0:
            raise bad_value(name, values.dtype, "non-negative integers")
    return labels.astype(np.int64), clusters.astype(np.int64)
