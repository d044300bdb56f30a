"""One optimisation step, and the running sums of an epoch.

:class:`OptimisationStep` owns everything one batch goes through: zero_grad,
the forward pass under autocast, pynet's loss protocol (a model returns
``output`` or ``(output, {layer outputs})``, a loss returns ``loss`` or
``(loss, {components})``), backward, the optimizer step, and the non-finite
policy. A NaN or infinite loss or gradient never reaches the weights:

- on the CPU (and with any optimizer that is not fused) the loss is checked
  before backward, the gradients after it: 'raise' stops with the batch
  named, 'skip' drops it;
- on CUDA with a fused optimizer the check stays on the device, so steps
  never wait for the host: the fused kernel's ``found_inf`` input turns a
  non-finite step into a no-op (weights, moments and step count untouched),
  and the batch is named when the losses are next read (every
  ``PROGRESS_REFRESH`` batches and at the epoch end).

:class:`EpochTotals` sums the loss components on the device and is read
once per epoch.
"""
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Tuple

import torch

from .precision import autocast
from .compiling import CompiledForward
from .distributed import Share, sharded_batch
from ..errors import MoEVAEValueError, NonFiniteLossError
from .precision import full_precision
from ..observable import Signal

PROGRESS_REFRESH = 10
NONFINITE = ("raise", "skip")  # the policies for a non-finite step


@dataclass
class StepResult:
    """What one batch gave: the loss (a 0-d tensor), its components and
    metrics (0-d float32 tensors on the training device), the batch size,
    the model's outputs, and whether the step counted (a bool tensor)."""
    loss: torch.Tensor
    components: Dict[str, torch.Tensor]
    samples: int
    outputs: Any
    layer_outputs: Optional[dict]
    finite: torch.Tensor


@dataclass
class EpochTotals:
    """Running sums of an epoch (device tensors), resumable mid-epoch."""
    batches: int = 0
    samples: int = 0
    kept: Optional[torch.Tensor] = None
    sums: Dict[str, torch.Tensor] = field(default_factory=dict)
    batch_losses: List[torch.Tensor] = field(default_factory=list)
    counted_flags: List[torch.Tensor] = field(default_factory=list)

    def add(self, result: StepResult) -> None:
        """Count a batch; a non-finite one adds nothing to the sums."""
        self.batches += 1
        self.samples += result.samples
        finite = result.finite
        loss = result.loss.detach().float()
        self.batch_losses.append(loss)
        self.counted_flags.append(finite)
        self.kept = finite.float() if self.kept is None else \
            self.kept + finite
        for name, value in (("loss", loss), *result.components.items()):
            value = torch.where(finite, value.detach().float(), 0.0)
            self.sums[name] = self.sums[name] + value \
                if name in self.sums else value

    @property
    def counted(self) -> int:
        """Batches whose loss was finite (one host sync)."""
        return 0 if self.kept is None else int(self.kept.item())

    def means(self) -> Dict[str, float]:
        """Mean of each component over the counted batches (one sync)."""
        if self.kept is None:
            return {}
        names = list(self.sums)
        values = torch.stack([self.kept] + [self.sums[n] for n in names]
                             ).cpu().tolist()
        kept = max(values[0], 1.0)
        return {name: value / kept for name, value in
                zip(names, values[1:])}

    def first_nonfinite(self) -> Optional[int]:
        """1-based index (in this process's batches) of the first batch
        that did not count (a non-finite loss or gradient), or None."""
        if not self.counted_flags:
            return None
        bad = (~torch.stack(self.counted_flags)).nonzero()
        return int(bad[0]) + 1 if len(bad) else None

    def state_dict(self) -> Dict[str, Any]:
        return {"batches": self.batches, "samples": self.samples,
                "kept": None if self.kept is None else self.kept.cpu(),
                "sums": {k: v.cpu() for k, v in self.sums.items()},
                "batch_losses": [v.cpu() for v in self.batch_losses]}

    @classmethod
    def from_state(cls, state: Dict[str, Any], device) -> "EpochTotals":
        kept = state.get("kept")
        if kept is None and state["batches"]:  # an earlier release's sums
            kept = torch.tensor(float(state["batches"]))
        return cls(state["batches"], state["samples"],
                   None if kept is None else kept.to(device),
                   {k: v.to(device) for k, v in state["sums"].items()},
                   [v.to(device) for v in state["batch_losses"]])


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
    return data.to(device, non_blocking=True) if torch.is_tensor(data) \
        else data


def as_scalar(value: Any, device: torch.device) -> torch.Tensor:
    """A loss component or metric (tensor or Python number) as a 0-d
    float32 tensor on the training device (its mean if it has several)."""
    if torch.is_tensor(value):
        return value.detach().float().mean().to(device)
    return torch.as_tensor(value, dtype=torch.float32,
                           device=device).mean()


class OptimisationStep:
    """Forward, loss, backward and update of one batch for ``interface``
    (a DeepLearningInterface: its model, loss, optimizer, device,
    precision, metrics and non-finite policy are read at each call).
    ``compile``: run forward and loss through torch.compile together."""

    def __init__(self, interface: Any, compile: bool = False):
        self.net = interface
        optimizer = interface.optimizer
        # device-side non-finite check: fused optimizers take found_inf
        # (not under DDP: every rank must agree on skipping a step, which
        # needs the flag on the host)
        self.deferred = interface.device.type == "cuda" and bool(
            getattr(optimizer, "defaults", {}).get("fused")) and \
            not interface.distributed.active
        # forward and loss trace as one graph when compiled
        self.compiled: Optional[CompiledForward] = CompiledForward.for_device(
            self.model_and_loss, interface.device) if compile else None

    def train(self, item: Any, where: str, share: Share = None
              ) -> StepResult:
        """One optimisation step on ``item``; ``where`` names the batch in
        errors; ``share``: under torchrun, the rows of the global batch
        that ``item`` holds (see moevae.training.distributed).
        Raises NonFiniteLossError (policy 'raise', host check)."""
        net = self.net
        net.optimizer.zero_grad(set_to_none=True)
        with sharded_batch(share):
            result = self.forward_and_loss(item, train=True)
        result.finite = net.distributed.all(result.finite)
        if self.deferred:
            result.loss.backward()
            result.finite = result.finite & self.gradients_finite()
            net.optimizer.found_inf = (~result.finite).float()
            try:
                net.optimizer.step()
            finally:
                del net.optimizer.found_inf
            return result
        if bool(result.finite):
            result.loss.backward()
            result.finite = self.gradients_finite()
            if bool(result.finite):
                net.optimizer.step()
                return result
            net.optimizer.zero_grad(set_to_none=True)
        if net.nonfinite == "raise":
            raise nonfinite_error(where, result)
        return result

    def gradients_finite(self) -> torch.Tensor:
        """True (a 0-d bool tensor) when every gradient is finite: a
        finite loss can still have NaN gradients (sqrt at 0...)."""
        grads = [param.grad for group in self.net.optimizer.param_groups
                 for param in group["params"] if param.grad is not None]
        if not grads:
            return torch.ones((), dtype=torch.bool, device=self.net.device)
        return torch.isfinite(torch.nn.utils.get_total_norm(grads))

    def evaluate(self, item: Any) -> StepResult:
        """Forward and loss of ``item`` without gradients; a non-finite
        loss is counted (the mean shows it), not dropped."""
        with torch.no_grad():
            result = self.forward_and_loss(item, train=False)
        result.finite = torch.ones((), dtype=torch.bool,
                                   device=result.loss.device)
        return result

    def forward_and_loss(self, item: Any, train: bool) -> StepResult:
        net = self.net
        inputs = to_device(item.inputs, net.device)
        targets = [to_device(target, net.device) for target in
                   (item.outputs, item.labels) if target is not None]
        args = (targets[-1],) if net.add_labels and \
            item.labels is not None else ()
        compute = self.compiled or self.model_and_loss
        with autocast(net.precision, net.device):
            outputs, layer_outputs, loss, components = compute(
                inputs, args, targets)
        if not torch.is_tensor(loss) or loss.numel() != 1:
            raise MoEVAEValueError(
                f"the loss returned {type(loss).__name__} of shape "
                f"{getattr(loss, 'shape', None)}; expected a scalar tensor")
        components = {name: as_scalar(value, net.device)
                      for name, value in (components or {}).items()}
        components.update(self.metrics(outputs, targets, layer_outputs))
        if train and net.has_observers(Signal.REGULARIZER):
            for term in net.notify_observers(Signal.REGULARIZER, strict=True,
                                             layer_outputs=layer_outputs):
                loss = loss + term
        loss = loss.reshape(())
        return StepResult(loss, components, len(inputs), outputs,
                          layer_outputs, torch.isfinite(loss.detach()))

    def model_and_loss(self, inputs: torch.Tensor, args: tuple,
                       targets: List[torch.Tensor]) -> tuple:
        """pynet's protocol: (outputs, layer outputs, loss, components)."""
        net = self.net
        model = net.trained_model if torch.is_grad_enabled() else net.model
        outputs, layer_outputs = parse_outputs(model(inputs, *args), "model")
        if hasattr(net.loss, "layer_outputs"):
            net.loss.layer_outputs = layer_outputs
        loss, components = parse_outputs(net.loss(outputs, *targets), "loss")
        return outputs, layer_outputs, loss, components

    def metrics(self, outputs: Any, targets: List[torch.Tensor],
                layer_outputs: Optional[dict]) -> Dict[str, torch.Tensor]:
        values = {}
        for name, metric in self.net.metrics.items():
            if hasattr(metric, "layer_outputs"):
                metric.layer_outputs = layer_outputs
            with torch.no_grad():
                values[name] = as_scalar(metric(outputs, *targets),
                                         self.net.device)
        return values


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


def collect(result, layer_names: Optional[List[str]]) -> torch.Tensor:
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

