"""Clustering scores: ACC (Hungarian matching), NMI, ARI, usage, and the
manager's probabilities in either layout."""
import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from moevae.clustering.scores import (
    clustering_accuracy,
    manager_clusters,
    manager_probabilities,
    score_clustering,
)
from moevae.errors import MoEVAEError
from moevae.models import FusedManager

LABELS = np.array([0, 0, 0, 1, 1, 2, 2, 2, 2, 3])


def test_perfect_clustering():
    scores = score_clustering(LABELS, LABELS, 4)
    assert (scores.acc, scores.nmi, scores.ari) == (1.0, 1.0, 1.0)
    assert scores.usage == [0.3, 0.2, 0.4, 0.1] and scores.collapsed == 0
    assert scores.confusion[2] == [0, 0, 4, 0]


@given(st.permutations(range(4)))
def test_permuted_labels_score_one(permutation):
    clusters = np.asarray(permutation)[LABELS]
    assert clustering_accuracy(LABELS, clusters) == 1.0
    scores = score_clustering(LABELS, clusters, 4)
    assert scores.nmi == pytest.approx(1.0) and scores.ari == pytest.approx(1)


def test_constant_clustering_scores_the_majority_share():
    clusters = np.zeros_like(LABELS)
    scores = score_clustering(LABELS, clusters, 10)
    assert scores.acc == pytest.approx(0.4)  # label 2 is 4 of 10
    assert scores.nmi == pytest.approx(0.0) and scores.ari == pytest.approx(0)
    assert scores.collapsed == 9


def test_more_clusters_than_labels():
    clusters = np.array([5, 5, 6, 1, 1, 2, 2, 2, 2, 3])
    assert clustering_accuracy(LABELS, clusters) == pytest.approx(0.9)


@pytest.mark.parametrize("clusters", [np.zeros(3, int), np.full(10, -1),
                                      np.zeros(10)])
def test_bad_inputs(clusters):
    with pytest.raises(MoEVAEError):
        score_clustering(LABELS, clusters, 4)


def test_manager_probabilities_of_either_layout_match_the_forward_pass():
    torch.manual_seed(0)
    fused = FusedManager(20, 6, 2, 3)
    inputs = torch.rand(25, 20)
    for model in (fused, fused.to_manager()):
        model.train()
        state = torch.get_rng_state()
        probabilities = manager_probabilities(model, inputs, batch_size=7)
        assert torch.equal(torch.get_rng_state(), state) and model.training
        with torch.no_grad():
            expected = model(inputs)[0].numpy()
        np.testing.assert_allclose(probabilities, expected, atol=1e-6)
        assert (manager_clusters(model, inputs) ==
                expected.argmax(axis=1)).all()
