"""One pass over a loader: forward, pynet's loss protocol, backward, step.

Losses are summed on the training device and read once per epoch, so a CUDA
run never waits on the host between steps; the progress bar shows a running
loss read every ``refresh`` batches. On the CPU every step's loss is checked
for NaN/inf at once; on CUDA the per-batch losses are checked at epoch end.
"""
import contextlib
import logging
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Optional, Tuple

import torch
from tqdm.auto import tqdm

from .errors import MoEVAEValueError, NonFiniteLossError
from .observable import Signal

logger = logging.getLogger("moevae")
PROGRESS_REFRESH = 10


@dataclass
class EpochTotals:
    """Running sums of an epoch (device tensors), resumable mid-epoch."""
    batches: int = 0
    samples: int = 0
    sums: Dict[str, torch.Tensor] = field(default_factory=dict)
    batch_losses: List[torch.Tensor] = field(default_factory=list)

    def add(self, loss: torch.Tensor, components: Dict[str, torch.Tensor],
            samples: int) -> None:
        self.batches += 1
        self.samples += samples
        loss = loss.detach().float()
        self.batch_losses.append(loss)
        for name, value in (("loss", loss), *components.items()):
            value = value.detach().float()
            self.sums[name] = self.sums[name] + value \
                if name in self.sums else value

    def means(self) -> Dict[str, float]:
        """Mean of each component over the batches (one host sync)."""
        if not self.batches:
            return {}
        names = list(self.sums)
        values = torch.stack([self.sums[n] for n in names]).cpu().tolist()
        return {name: value / self.batches for name, value in
                zip(names, values)}

    def state_dict(self) -> Dict[str, Any]:
        return {"batches": self.batches, "samples": self.samples,
                "sums": {k: v.cpu() for k, v in self.sums.items()},
                "batch_losses": [v.cpu() for v in self.batch_losses]}

    @classmethod
    def from_state(cls, state: Dict[str, Any], device) -> "EpochTotals":
        return cls(state["batches"], state["samples"],
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


def collect(outputs: Tuple[Any, Optional[dict]],
            layer_names: Optional[List[str]]) -> torch.Tensor:
    """A batch's predictions, with named layer outputs concatenated."""
    main, layer_outputs = outputs
    parts = [main.detach()]
    for name in layer_names or []:
        if not layer_outputs or name not in layer_outputs:
            raise MoEVAEValueError(
                f"concat_layer_outputs: no layer output {name!r}; the model "
                f"returned {sorted(layer_outputs or {})}")
        parts.append(layer_outputs[name].detach())
    return torch.cat(parts, dim=1) if len(parts) > 1 else parts[0]


def to_device(data: Any, device: torch.device) -> Any:
    if isinstance(data, (list, tuple)):
        return [to_device(item, device) for item in data]
    return data.to(device, non_blocking=True) if torch.is_tensor(data) \
        else data


class EpochRunner:
    """Runs the batches of one epoch for an interface (see core.Base)."""

    def __init__(self, interface):
        self.net = interface

    def run(self, loader, train: bool, desc: str,
            totals: Optional[EpochTotals] = None,
            should_stop: Callable[[], bool] = lambda: False,
            predictions: Optional[List[torch.Tensor]] = None,
            concat_layer_outputs: Optional[List[str]] = None) -> EpochTotals:
        """Run one pass; append outputs to ``predictions`` if given."""
        net = self.net
        totals = totals or EpochTotals()
        net.model.train(train)
        grad = contextlib.nullcontext() if train else torch.no_grad()
        on_cpu = net.device.type == "cpu"
        skip = train and net.nonfinite == "skip"
        refresh = PROGRESS_REFRESH if on_cpu else 10 * PROGRESS_REFRESH
        with grad, tqdm(total=len(loader), initial=totals.batches,
                        desc=desc, leave=False, dynamic_ncols=True,
                        mininterval=0.5, disable=None) as bar:
            for item in loader:
                if train and net.has_observers(Signal.BEFORE_BATCH):
                    net.notify_observers(Signal.BEFORE_BATCH,
                                         batch=totals.batches, item=item)
                loss, components, samples, outputs = self.step(item, train)
                if predictions is not None:
                    predictions.append(collect(outputs, concat_layer_outputs))
                if skip and not bool(torch.isfinite(loss)):
                    net.skipped_batches += 1
                    net.optimizer.zero_grad(set_to_none=True)
                    continue
                if on_cpu:
                    self.check_finite(loss, components, totals.batches,
                                      len(loader), desc)
                totals.add(loss, components, samples)
                if train:
                    net.apply_step(loss)
                    if net.has_observers(Signal.AFTER_BATCH):
                        net.notify_observers(
                            Signal.AFTER_BATCH, batch=totals.batches - 1,
                            loss=loss, outputs=outputs[0],
                            layer_outputs=outputs[1])
                bar.update(1)
                if not bar.disable and totals.batches % refresh == 0:
                    bar.set_postfix(loss=f"{totals.means()['loss']:.4g}",
                                    refresh=False)
                if train and should_stop():
                    break
        if not on_cpu and totals.batches:
            self.check_epoch_finite(totals, desc)
        return totals

    def step(self, item, train: bool):
        """Forward and loss of one batch (backward is apply_step's).

        Returns (loss, components, batch size, (outputs, layer_outputs)).
        """
        net = self.net
        inputs = to_device(item.inputs, net.device)
        targets = [to_device(target, net.device) for target in
                   (item.outputs, item.labels) if target is not None]
        args = (targets[-1],) if net.add_labels and \
            item.labels is not None else ()
        if train:
            net.optimizer.zero_grad(set_to_none=True)
        with net.autocast():
            outputs, layer_outputs = parse_outputs(
                net.forward(inputs, *args), "model")
            if hasattr(net.loss, "layer_outputs"):
                net.loss.layer_outputs = layer_outputs
            loss, components = parse_outputs(
                net.loss(outputs, *targets), "loss")
        if not torch.is_tensor(loss) or loss.numel() != 1:
            raise MoEVAEValueError(
                f"the loss returned {type(loss).__name__} of shape "
                f"{getattr(loss, 'shape', None)}; expected a scalar tensor")
        components = {name: value.float().mean() if torch.is_tensor(value)
                      else torch.tensor(float(value))
                      for name, value in (components or {}).items()}
        components.update(self.metrics(outputs, targets, layer_outputs))
        if train and net.has_observers(Signal.REGULARIZER):
            for term in net.notify_observers(Signal.REGULARIZER, strict=True,
                                             layer_outputs=layer_outputs):
                loss = loss + term
        return loss.reshape(()), components, len(inputs), \
            (outputs, layer_outputs)

    def metrics(self, outputs, targets, layer_outputs
                ) -> Dict[str, torch.Tensor]:
        values = {}
        for name, metric in self.net.metrics.items():
            if hasattr(metric, "layer_outputs"):
                metric.layer_outputs = layer_outputs
            with torch.no_grad():
                value = metric(outputs, *targets)
            values[name] = torch.as_tensor(value).detach().float().mean()
        return values

    @staticmethod
    def check_finite(loss: torch.Tensor, components: Dict[str, torch.Tensor],
                     batch: int, batches: int, desc: str) -> None:
        if bool(torch.isfinite(loss)):
            return
        bad = [name for name, value in components.items()
               if not bool(torch.isfinite(value).all())] or ["loss"]
        raise NonFiniteLossError(
            f"{desc}: non-finite loss {loss.item()} at batch {batch + 1}/"
            f"{batches} "
            f"(components: {', '.join(bad)}); the last checkpoint is kept")

    @staticmethod
    def check_epoch_finite(totals: EpochTotals, desc: str) -> None:
        losses = torch.stack(totals.batch_losses)
        finite = torch.isfinite(losses)
        if bool(finite.all()):
            return
        batch = int((~finite).nonzero()[0]) + 1
        bad = [name for name, value in totals.sums.items()
               if not bool(torch.isfinite(value))]
        raise NonFiniteLossError(
            f"{desc}: non-finite loss at batch {batch}/{len(losses)} "
            "(components: "
            f"{', '.join(bad)}); the last checkpoint is kept")
