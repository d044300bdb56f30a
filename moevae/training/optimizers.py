"""A torch.optim optimizer from pynet's ``optimizer_name`` and
``learning_rate``, its other options checked in one line."""
import inspect
from typing import Any, Dict, Iterable, Optional

import torch

from ..errors import MoEVAEValueError, bad_value


def build_optimizer(name: str, parameters, learning_rate: float,
                    options: Dict[str, Any]) -> torch.optim.Optimizer:
    """torch.optim.<name>(parameters, lr=learning_rate, **options)."""
    names = sorted(key for key, value in vars(torch.optim).items()
                   if inspect.isclass(value) and
                   issubclass(value, torch.optim.Optimizer) and
                   value is not torch.optim.Optimizer)
    if name not in names:
        raise bad_value("optimizer_name", name, f"one of {names}")
    klass = getattr(torch.optim, name)
    accepted = set(inspect.signature(klass).parameters) - {"params", "lr"}
    unknown = sorted(set(options) - accepted)
    if unknown:
        raise MoEVAEValueError(f"unknown argument(s) {unknown} for "
                               f"torch.optim.{name}: expected some of "
                               f"{sorted(accepted)}")
    if isinstance(learning_rate, bool) or not isinstance(
            learning_rate, (int, float)) or not learning_rate > 0:
        raise bad_value("learning_rate", learning_rate, "a number > 0")
    parameters = list(parameters)
    if "fused" in accepted and not {"fused", "foreach"} & set(options):
        try:  # one kernel for the whole update: 5x faster than foreach
            return klass(parameters, lr=learning_rate, fused=True, **options)
        except (RuntimeError, ValueError):
            pass
    return klass(parameters, lr=learning_rate, **options)


def optimizer_for(optimizer: Optional[torch.optim.Optimizer], name: str,
                  parameters: Iterable[torch.nn.Parameter],
                  learning_rate: float, options: Dict[str, Any]
                  ) -> torch.optim.Optimizer:
    """``optimizer`` itself, or one built by :func:`build_optimizer`.

    Raises MoEVAEValueError when ``optimizer`` comes with a name, learning
    rate or options that would be ignored (pynet's defaults 'Adam' and
    1e-3 count as not given).
    """
    if optimizer is None:
        return build_optimizer(name, parameters, learning_rate, options)
    ignored = [f"{key}={value!r}" for key, value, default in (
        ("optimizer_name", name, "Adam"),
        ("learning_rate", learning_rate, 1e-3)) if value != default]
    ignored += [f"{key}={value!r}" for key, value in options.items()]
    if ignored:
        raise bad_value("optimizer", type(optimizer).__name__, "no "
                        f"optimizer_name/learning_rate/options with it "
                        f"(given: {', '.join(ignored)}): build the "
                        "optimizer with them")
    return optimizer
