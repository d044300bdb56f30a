import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from sklearn.metrics import accuracy_score, precision_score, recall_score

from moevae.errors import MoEVAEError
from moevae.clustering.scores import clustering_accuracy, score_clustering
from moevae.metrics import resolve_metrics

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
    import torch
    from moevae.clustering.scores import (manager_clusters,
                                          manager_probabilities)
    from moevae.models import FusedManager
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


def test_resolve_metrics_takes_pynet_names_and_callables():
    def mine(outputs, labels):
        return 0.5

    class Scorer:
        def __call__(self, outputs, labels):
            return 1.0
    metrics = resolve_metrics(["accuracy", "binary_recall", "sk_accuracy",
                               "f1_score", mine, Scorer()])
    assert list(metrics) == ["accuracy", "binary_recall", "sk_accuracy",
                             "f1_score", "mine", "Scorer"]
    logits = torch.tensor([[2., 1., 0.], [0., 3., 1.], [5., 0., 0.],
                           [0., 0., 1.]])
    labels = torch.tensor([0, 1, 1, 2])
    assert metrics["accuracy"](logits, labels) == accuracy_score(
        labels, logits.argmax(1)) == 0.75
    scores = torch.tensor([2., -1., 0.5, -3., 1.])
    truth = torch.tensor([1., 0., 0., 1., 1.])
    predicted = (scores >= 0).int()
    assert float(metrics["binary_recall"](scores, truth)) == pytest.approx(
        recall_score(truth, predicted))
    assert metrics["sk_accuracy"](scores, truth) == pytest.approx(
        accuracy_score(truth, predicted))
    assert metrics["f1_score"](scores, truth) == pytest.approx(
        2 / (1 / precision_score(truth, predicted) +
             1 / recall_score(truth, predicted)))


@pytest.mark.parametrize("metrics, message", [
    (["acuracy"], r"metrics='acuracy': expected a pynet metric name, one of "
                  r".*accuracy"),
    ([3], r"metrics=3 \(int\): expected a pynet metric name or a callable"),
    ("accuracy", r"metrics='accuracy' \(str\): expected a list"),
])
def test_resolve_metrics_refuses_the_rest_in_one_line(metrics, message):
    with pytest.raises(MoEVAEError, match=message) as error:
        resolve_metrics(metrics)
    assert "\n" not in str(error.value)
