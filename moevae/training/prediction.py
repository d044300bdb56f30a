"""pynet's ``test`` and ``testing``: a trained interface's predictions.

A mixin of :class:`moevae.interfaces.DeepLearningInterface`: the same pass
over batches as training (``_run_pass``), without gradients, under the
interface's precision, leaving the model's modes as they were.
"""
from typing import List

import numpy as np
import torch

from .precision import precision_flags
from ..errors import bad_value
from .rng import kept_shared_state


class Prediction:
    """``test(loader)`` and ``testing(manager)``, as in pynet."""

    def test(self, loader, with_logit: bool = False,
             logit_function: str = "softmax", predict: bool = False,
             concat_layer_outputs=None, is_validation: bool = False):
        """Predictions, mean loss and components over ``loader``."""
        if logit_function not in ("softmax", "sigmoid"):
            raise bad_value("logit_function", logit_function,
                            "'softmax' or 'sigmoid'")
        predictions: List[torch.Tensor] = []
        with precision_flags(self.precision, self.device), \
                kept_shared_state(self.model, self.device, rng=False):
            totals = self._run_pass(loader, "test", train=False,
                                    predictions=predictions,
                                    layer_names=concat_layer_outputs)
        values = totals.means()
        loss = values.pop("loss", None)
        y = torch.cat(predictions) if predictions else None
        if y is not None and with_logit:
            y = torch.softmax(y, dim=1) if logit_function == "softmax" \
                else torch.sigmoid(y)
        y = None if y is None else y.cpu().numpy()
        if y is not None and predict:
            y = np.argmax(y, axis=1)
        return y, loss, values

    def testing(self, manager, with_logit: bool = False,
                logit_function: str = "softmax", predict: bool = False,
                concat_layer_outputs=None):
        """pynet's testing: (y, X, y_true, loss, values) on the test set."""
        loader = manager.get_dataloader(test=True).test
        y, loss, values = self.test(loader, with_logit, logit_function,
                                    predict, concat_layer_outputs)
        inputs, truths = [], []
        for item in loader:
            inputs.append(item.inputs.cpu().numpy())
            truths.append([t.cpu().numpy() for t in (item.outputs,
                                                     item.labels)
                           if t is not None])
        X = np.concatenate(inputs)
        y_true = [np.concatenate(parts) for parts in zip(*truths)]
        y_true = y_true[0] if len(y_true) == 1 else y_true
        return y, X, y_true, loss, values
