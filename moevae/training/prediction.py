"""What pynet's ``test`` and ``testing`` return, from a pass's outputs.

:meth:`moevae.interfaces.DeepLearningInterface.test` runs the training
loop's pass without gradients; these functions turn its batches into
pynet's arrays.
"""
from typing import Any, List, Optional, Tuple, Union

import numpy as np
import torch

from ..errors import bad_value

LOGIT_FUNCTIONS = ("softmax", "sigmoid")


def check_logit_function(name: str) -> None:
    """Raises MoEVAEValueError unless ``name`` is 'softmax' or 'sigmoid'."""
    if name not in LOGIT_FUNCTIONS:
        raise bad_value("logit_function", name, "'softmax' or 'sigmoid'")


def finish(batches: List[torch.Tensor], with_logit: bool,
           logit_function: str, predict: bool) -> Optional[np.ndarray]:
    """The (N, C) float32 predictions of ``batches`` (None without any):
    through softmax over dim 1 or sigmoid when ``with_logit``, as class
    indices (N,) when ``predict``."""
    if not batches:
        return None
    y = torch.cat(batches)
    if with_logit:
        y = torch.softmax(y, dim=1) if logit_function == "softmax" else (
            torch.sigmoid(y))
    array = y.cpu().numpy()
    return np.argmax(array, axis=1) if predict else array


def arrays_of_test_set(loader: Any
                    ) -> Tuple[np.ndarray, Union[np.ndarray, List[Any]]]:
    """(X, y_true) of a loader, as pynet's ``testing`` returns them: the
    inputs concatenated, and the outputs and/or labels (one array, or a
    list of both)."""
    inputs, truths = [], []
    for item in loader:
        inputs.append(item.inputs.cpu().numpy())
        truths.append([t.cpu().numpy() for t in (item.outputs, item.labels)
                       if t is not None])
    y_true = [np.concatenate(parts) for parts in zip(*truths)]
    return np.concatenate(inputs), y_true[0] if len(y_true) == 1 else y_true
