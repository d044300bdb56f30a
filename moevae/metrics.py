"""pynet's training metrics: ``metrics=[...]`` names and callables.

Each is ``metric(y_pred, y) -> float or 0-d tensor``, averaged per epoch by
the interface. The names and definitions are pynet's (``pynet/metrics.py``):
``accuracy`` (argmax over dim 1 vs integer labels), ``multiclass_dice``,
``pearson_correlation``, ``binary_<score>`` (sigmoid of logits, threshold
0.5) and ``sk_<name>`` / ``f1_score`` / ``f2_score`` (scikit-learn on
thresholded sigmoid outputs).
"""
import types
from typing import Any, Callable, Dict, Optional, Sequence

import torch
import torch.nn.functional as func
from sklearn import metrics as sk_metrics

from .errors import bad_type, bad_value

Metric = Callable[..., object]
CONFUSION_RATES = {
    # name: (numerator, denominator) over the binary confusion counts
    "false_discovery_rate": ("fp", ("tp", "fp")),
    "false_negative_rate": ("fn", ("tp", "fn")),
    "false_positive_rate": ("fp", ("fp", "tn")),
    "negative_predictive_value": ("tn", ("tn", "fn")),
    "positive_predictive_value": ("tp", ("tp", "fp")),
    "true_negative_rate": ("tn", ("tn", "fp")),
    "true_positive_rate": ("tp", ("tp", "fn")),
    "accuracy": (("tp", "tn"), ("tp", "tn", "fp", "fn")),
}
PROBABILITY_SCORES = ("roc_auc_score", "average_precision_score", "log_loss",
                      "brier_score_loss")


def accuracy(y_pred: torch.Tensor, y: torch.Tensor) -> float:
    """Share of rows whose argmax over dim 1 of (B, classes) equals y (B,)."""
    predicted = y_pred.detach().argmax(dim=1)
    return float(predicted.eq(y).sum().item() / y.shape[0])


def multiclass_dice(y_pred: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Mean over classes of the smoothed dice of softmax(y_pred) and y."""
    if isinstance(y_pred, tuple):
        y_pred = y_pred[0]
    y_pred = func.softmax(y_pred, dim=1)
    dice = torch.zeros((), dtype=y_pred.dtype, device=y_pred.device)
    for klass in range(y_pred.shape[1]):
        pred, truth = y_pred[:, klass].flatten(), y[:, klass].flatten()
        dice += (2. * (pred * truth).sum() + 1.) / (pred.sum() + truth.sum()
                                                    + 1.)
    return dice / y_pred.shape[1]


def pearson_correlation(y_pred: torch.Tensor, y: torch.Tensor
                        ) -> torch.Tensor:
    """Pearson correlation of two 1-d tensors."""
    centred_pred, centred = y_pred - y_pred.mean(), y - y.mean()
    return centred_pred.dot(centred) / (
        torch.norm(centred_pred, 2) * torch.norm(centred, 2))


def _binary(y_pred: torch.Tensor, y: torch.Tensor, with_logit: bool,
            threshold: float = 0.5) -> Dict[str, torch.Tensor]:
    if with_logit:
        y_pred = torch.sigmoid(y_pred)
    pred = (y_pred.reshape(-1) >= threshold).int()
    truth = (y.reshape(-1) >= threshold).int()
    return {"tp": pred.mul(truth).sum().float(),
            "tn": (1 - pred).mul(1 - truth).sum().float(),
            "fp": pred.mul(1 - truth).sum().float(),
            "fn": (1 - pred).mul(truth).sum().float()}


class BinaryClassificationMetric:
    """pynet's ``binary_<score>``: one score of the thresholded predictions."""
    SCORES = ("accuracy", "true_positive", "true_negative", "false_positive",
              "false_negative", "precision", "recall")

    def __init__(self, score: str, with_logit: bool = True):
        self.score, self.with_logit = score, with_logit

    def __call__(self, y_pred: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        counts = _binary(y_pred, y, self.with_logit)
        tp, tn, fp, fn = (counts[key] for key in ("tp", "tn", "fp", "fn"))
        return {"true_positive": tp, "true_negative": tn,
                "false_positive": fp, "false_negative": fn,
                "accuracy": (tp + tn) / (tp + tn + fp + fn),
                "precision": tp / (tp + fp),
                "recall": tp / (tp + fn)}[self.score]


class ScikitLearnMetric:
    """pynet's ``sk_<name>``: a scikit-learn score of sigmoid outputs."""
    NAMES = ("accuracy", "average_precision_score", "cohen_kappa_score",
             "roc_auc_score", "log_loss", "matthews_corrcoef",
             "precision_score", "false_discovery_rate", "false_negative_rate",
             "false_positive_rate", "negative_predictive_value",
             "positive_predictive_value", "true_negative_rate",
             "true_positive_rate")

    def __init__(self, name: str, threshold: float = 0.5,
                 with_logit: bool = True, **kwargs):
        self.name, self.threshold = name, threshold
        self.with_logit = with_logit
        self.kwargs = kwargs

    def __call__(self, y_pred: torch.Tensor, y: torch.Tensor) -> float:
        if self.with_logit:
            y_pred = torch.sigmoid(y_pred)
        scores = y_pred.detach().cpu().reshape(-1).numpy()
        truth = y.detach().cpu().reshape(-1).numpy()
        if self.name not in PROBABILITY_SCORES:
            scores = (scores > self.threshold).astype(int)
        if self.name in CONFUSION_RATES:
            tn, fp, fn, tp = sk_metrics.confusion_matrix(
                truth, scores, labels=[0, 1]).ravel()
            counts = {"tn": tn, "fp": fp, "fn": fn, "tp": tp}
            top, bottom = CONFUSION_RATES[self.name]
            top = (top,) if isinstance(top, str) else top
            return float(sum(counts[k] for k in top) /
                         sum(counts[k] for k in bottom))
        return float(getattr(sk_metrics, self.name)(truth, scores,
                                                    **self.kwargs))


class FBetaScore(ScikitLearnMetric):
    """pynet's f1_score / f2_score (scikit-learn's fbeta_score)."""

    def __init__(self, beta: float):
        super().__init__("fbeta_score", beta=beta)


def named_metrics() -> Dict[str, Metric]:
    """Every pynet metric name -> a fresh metric callable."""
    named: Dict[str, Metric] = {
        "accuracy": accuracy, "multiclass_dice": multiclass_dice,
        "pearson_correlation": pearson_correlation,
        "f1_score": FBetaScore(beta=1), "f2_score": FBetaScore(beta=2)}
    for score in BinaryClassificationMetric.SCORES:
        named[f"binary_{score}"] = BinaryClassificationMetric(score)
    for name in ScikitLearnMetric.NAMES:
        named[f"sk_{name}"] = ScikitLearnMetric(name)
    return named


__all__ = [
    "BinaryClassificationMetric",
    "FBetaScore",
    "ScikitLearnMetric",
    "accuracy",
    "multiclass_dice",
    "named_metrics",
    "pearson_correlation",
]


def resolve_metrics(metrics: Optional[Sequence[Any]]
                    ) -> Dict[str, Callable[..., Any]]:
    """pynet's ``metrics=`` list as {name: metric(outputs, *targets)}.

    A function is named by its ``__name__``, another callable by its class
    name, a string by pynet's registry (``"accuracy"``, ``"binary_recall"``,
    ``"sk_roc_auc_score"``, ``"f1_score"``... see
    :func:`named_metrics`). Raises MoEVAETypeError for a
    non-list or a non-callable, MoEVAEValueError for an unknown name (the
    message lists the known ones).
    """
    if metrics is None:
        return {}
    if (isinstance(metrics, (str, bytes)) or callable(metrics) or
            not hasattr(metrics, "__iter__")):
        raise bad_type("metrics", metrics, "a list of metric names or "
                       "callables metric(outputs, *targets)")
    registry = named_metrics()
    resolved: Dict[str, Callable[..., Any]] = {}
    for metric in metrics:
        if isinstance(metric, str):
            if metric not in registry:
                raise bad_value("metrics", metric, "a pynet metric name, one "
                                f"of {', '.join(sorted(registry))}, or a "
                                "callable")
            resolved[metric] = registry[metric]
        elif isinstance(metric, (types.FunctionType,
                                 types.BuiltinFunctionType)):
            resolved[metric.__name__] = metric
        elif callable(metric):
            resolved[type(metric).__name__] = metric
        else:
            raise bad_type("metrics", metric, "a pynet metric name or a "
                           "callable metric(outputs, *targets)")
    return resolved
