"""One optimisation step: what one batch goes through.

:class:`OptimisationStep` takes its collaborators explicitly (model,
loss, optimizer, device, precision, metrics, non-finite policy, the
process group and the extra loss terms of observers) and knows no
interface. One training step is zero_grad, the forward pass under
autocast, pynet's loss protocol (a model returns ``output`` or ``(output,
{layer outputs})``, a loss returns ``loss`` or ``(loss, {components})``),
backward, the optimizer step and the non-finite policy. A NaN or infinite
loss or gradient never reaches the weights:

- on the CPU (and with any optimizer that is not fused) the loss is checked
  before backward, the gradients after it: 'raise' stops with the batch
  named, 'skip' drops it;
- on CUDA with a fused optimizer the check stays on the device, so steps
  never wait for the host: the fused kernel's ``found_inf`` input turns a
  non-finite step into a no-op (weights, moments and step count untouched),
  and the batch is named when the losses are next read
  (:meth:`OptimisationStep.check_deferred`).

Under torchrun a batch is this rank's share of the global batch
(:class:`~moevae.datasets.BatchShare`): the loss, a mean over
the share, is weighted by the share's size before backward, so that DDP's
average over ranks is the mean over the whole batch, as one process
computes it, also when the shares are uneven.
"""
from dataclasses import dataclass
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

import torch

from ..datasets.arrays import DataItem
from ..datasets.loaders import BatchShare
from ..errors import MoEVAEValueError, NonFiniteLossError, bad_value
from ..models.global_batch import sharded_batch
from .compiling import CompiledForward
from .distributed import Distributed
from .precision import autocast, full_precision
from .totals import EpochTotals

PROGRESS_REFRESH = 10  # batches between two reads of the losses
NONFINITE = ("raise", "skip")  # the policies for a non-finite step
# observers' extra loss terms: layer outputs -> terms added to the loss
Regularizers = Callable[[Optional[dict]], Sequence[torch.Tensor]]
Metric = Callable[..., Any]


@dataclass
class StepResult:
    """What one batch gave: the loss (a 0-d tensor), its components and
    metrics (0-d float32 tensors on the training device), the rows of the
    batch here, the model's outputs, whether the step counted (a 0-d bool
    tensor) and the share's weight (1.0 outside torchrun)."""
    loss: torch.Tensor
    components: Dict[str, torch.Tensor]
    samples: int
    outputs: Any
    layer_outputs: Optional[dict]
    finite: torch.Tensor
    weight: float = 1.0


def check_nonfinite(policy: str) -> None:
    """Raises MoEVAEValueError unless ``policy`` is one of NONFINITE."""
    if policy not in NONFINITE:
        raise bad_value("nonfinite", policy, f"one of {NONFINITE}")


def no_regularizers(layer_outputs: Optional[dict]) -> Sequence[torch.Tensor]:
    return ()


class OptimisationStep:
    """Forward, loss, backward and update of one batch.

    model: the module trained; trained_model: what the training forward
    runs (a DDP copy under torchrun, else ``model``); loss, optimizer,
    metrics ({name: metric(outputs, *targets)}): pynet's; device: where
    batches go; precision: 'fp32', 'tf32' or 'bf16'; nonfinite: 'raise'
    or 'skip'; add_labels: pass the labels to the model too; regularizers:
    extra loss terms (observers' ``regularizer`` signal); compile: forward
    and loss through torch.compile together.
    """

    def __init__(self, model: torch.nn.Module, loss: Callable[..., Any],
                 optimizer: torch.optim.Optimizer, device: torch.device, *,
                 trained_model: Optional[torch.nn.Module] = None,
                 distributed: Optional[Distributed] = None,
                 precision: str = "fp32", nonfinite: str = "raise",
                 metrics: Optional[Dict[str, Metric]] = None,
                 add_labels: bool = False,
                 regularizers: Regularizers = no_regularizers,
                 compile: bool = False):
        check_nonfinite(nonfinite)
        self.model, self.loss, self.optimizer = model, loss, optimizer
        self.trained_model = trained_model or model
        self.device = device
        self.distributed = distributed or Distributed()
        self.precision, self.nonfinite = precision, nonfinite
        self.metrics = metrics or {}
        self.add_labels = add_labels
        self.regularizers = regularizers
        # device-side non-finite check: fused optimizers take found_inf
        # (not under DDP: every rank must agree on skipping a step, which
        # needs the flag on the host)
        self.deferred = device.type == "cuda" and bool(
            getattr(optimizer, "defaults", {}).get("fused")) and (
            not self.distributed.active)
        # forward and loss trace as one graph when compiled
        self.compiled: Optional[CompiledForward] = (
            CompiledForward.for_device(self.model_and_loss, device)
            if compile else None)

    def train(self, item: DataItem, where: str,
              share: Optional[BatchShare] = None) -> StepResult:
        """One optimisation step on ``item`` (a DataItem); ``where`` names
        the batch in errors; ``share``: under torchrun, which rows of the
        global batch ``item`` holds.
        Raises NonFiniteLossError (policy 'raise', host check)."""
        optimizer = self.optimizer
        optimizer.zero_grad(set_to_none=True)
        with sharded_batch(share):
            result = self.forward_and_loss(item, train=True)
        scaled = result.loss  # what backward runs on
        if share is not None:
            result.weight = share.weight
            scaled = result.loss * result.weight
        result.finite = self.distributed.all(result.finite)
        if self.deferred:
            scaled.backward()
            result.finite = result.finite & self.gradients_finite()
            optimizer.found_inf = (~result.finite).float()  # type: ignore
            try:
                optimizer.step()
            finally:
                del optimizer.found_inf  # type: ignore
            return result
        if bool(result.finite):
            scaled.backward()
            result.finite = self.distributed.all(self.gradients_finite())
            if bool(result.finite):
                optimizer.step()
                return result
            optimizer.zero_grad(set_to_none=True)
        if self.nonfinite == "raise":
            raise nonfinite_error(where, result)
        return result

    def gradients_finite(self) -> torch.Tensor:
        """True (a 0-d bool tensor) when every gradient is finite: a
        finite loss can still have NaN gradients (sqrt at 0...)."""
        grads = [param.grad for group in self.optimizer.param_groups
                 for param in group["params"] if param.grad is not None]
        if not grads:
            return torch.ones((), dtype=torch.bool, device=self.device)
        return torch.isfinite(torch.nn.utils.get_total_norm(grads))

    def evaluate(self, item: DataItem) -> StepResult:
        """Forward and loss of ``item`` without gradients; a non-finite
        loss is counted (the mean shows it), not dropped."""
        with torch.no_grad():
            result = self.forward_and_loss(item, train=False)
        result.finite = torch.ones((), dtype=torch.bool,
                                   device=result.loss.device)
        return result

    def forward_and_loss(self, item: DataItem, train: bool) -> StepResult:
        inputs = to_device(item.inputs, self.device)
        targets = [to_device(target, self.device) for target in
                   (item.outputs, item.labels) if target is not None]
        args = (targets[-1],) if self.add_labels and (
            item.labels is not None) else ()
        compute = self.compiled or self.model_and_loss
        with autocast(self.precision, self.device):
            outputs, layer_outputs, loss, components = compute(
                inputs, args, targets)
        if not torch.is_tensor(loss) or loss.numel() != 1:
            raise MoEVAEValueError(
                f"the loss returned {type(loss).__name__} of shape "
                f"{getattr(loss, 'shape', None)}; expected a scalar tensor")
        components = {name: as_scalar(value, self.device)
                      for name, value in (components or {}).items()}
        components.update(self.metric_values(outputs, targets,
                                             layer_outputs))
        if train:
            for term in self.regularizers(layer_outputs):
                loss = loss + term
        loss = loss.reshape(())
        return StepResult(loss, components, len(inputs), outputs,
                          layer_outputs, torch.isfinite(loss.detach()))

    def model_and_loss(self, inputs: torch.Tensor, args: tuple,
                       targets: List[torch.Tensor]) -> tuple:
        """pynet's protocol: (outputs, layer outputs, loss, components)."""
        model = self.trained_model if torch.is_grad_enabled() else self.model
        outputs, layer_outputs = parse_outputs(model(inputs, *args), "model")
        if hasattr(self.loss, "layer_outputs"):
            self.loss.layer_outputs = layer_outputs
        loss, components = parse_outputs(self.loss(outputs, *targets),
                                         "loss")
        return outputs, layer_outputs, loss, components

    def metric_values(self, outputs: Any, targets: List[torch.Tensor],
                      layer_outputs: Optional[dict]
                      ) -> Dict[str, torch.Tensor]:
        values = {}
        for name, metric in self.metrics.items():
            if hasattr(metric, "layer_outputs"):
                metric.layer_outputs = layer_outputs
            with torch.no_grad():
                values[name] = as_scalar(metric(outputs, *targets),
                                         self.device)
        return values

    def check_deferred(self, totals: EpochTotals, desc: str) -> None:
        """Name the first non-finite batch of a device-side-checked pass
        (policy 'raise'); nothing to do when the host checks each step."""
        if not (self.deferred and self.nonfinite == "raise"):
            return
        batch = totals.first_nonfinite()
        if batch is not None:
            raise NonFiniteLossError(
                f"{desc}: non-finite loss at batch {batch}/{totals.batches} "
                "so far; that step was not applied to the weights and the "
                "last checkpoint is kept")


def parse_outputs(items: Any, what: str) -> Tuple[Any, Optional[dict]]:
    """pynet's (main, {extras}) convention for models and losses."""
    if not isinstance(items, (tuple, list)):
        return items, None
    if len(items) == 1:
        return items[0], None
    if len(items) != 2 or not (items[1] is None or isinstance(items[1], dict)):
        raise MoEVAEValueError(
            f"the {what} returned {type(items).__name__} of {len(items)} "
            "items; expected one output or (output, dict of extras)")
    return items[0], items[1]


def to_device(data: Any, device: torch.device) -> Any:
    if isinstance(data, (list, tuple)):
        return [to_device(item, device) for item in data]
    return (data.to(device, non_blocking=True) if torch.is_tensor(data)
        else data)


def as_scalar(value: Any, device: torch.device) -> torch.Tensor:
    """A loss component or metric (tensor or Python number) as a 0-d
    float32 tensor on the training device (its mean if it has several)."""
    if torch.is_tensor(value):
        return value.detach().float().mean().to(device)
    return torch.as_tensor(value, dtype=torch.float32,
                           device=device).mean()


def nonfinite_error(where: str, result: StepResult) -> NonFiniteLossError:
    if bool(torch.isfinite(result.loss)):
        what = f"non-finite gradients (loss {result.loss.item():.6g})"
    else:
        bad = [name for name, value in result.components.items()
               if not bool(torch.isfinite(value))] or ["loss"]
        what = (f"non-finite loss {result.loss.item()} (components: "
                f"{', '.join(bad)})")
    return NonFiniteLossError(f"{where}: {what}; the weights were not "
                              "updated and the last checkpoint is kept")


def collect(result: StepResult, layer_names: Optional[List[str]]
            ) -> torch.Tensor:
    """A batch's predictions, with named layer outputs concatenated; copies,
    since a compiled (CUDA-graph) forward reuses its output memory. Half
    precision (autocast) comes back as float32: numpy has no bfloat16."""
    parts = [full_precision(result.outputs.detach())]
    for name in layer_names or []:
        if not result.layer_outputs or name not in result.layer_outputs:
            raise MoEVAEValueError(
                f"concat_layer_outputs: no layer output {name!r}; the model "
                f"returned {sorted(result.layer_outputs or {})}")
        parts.append(full_precision(result.layer_outputs[name].detach()))
    return torch.cat(parts, dim=1) if len(parts) > 1 else parts[0].clone()
