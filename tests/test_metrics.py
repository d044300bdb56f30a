"""pynet's training metrics: names and callables, checked in one line."""
import pytest
import torch
from sklearn.metrics import accuracy_score, precision_score, recall_score

from moevae.errors import MoEVAEError
from moevae.metrics import resolve_metrics


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
