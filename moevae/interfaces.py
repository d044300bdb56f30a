"""DeepLearningInterface: pynet's entry point, built from a model and loss.

``DeepLearningInterface(model=..., optimizer_name="Adam",
learning_rate=1e-3, loss=..., use_cuda=True)`` as in the seed. Unlike pynet,
``use_cuda=True`` on a machine without a GPU warns once and trains on the
CPU, and every bad argument is refused with a one-line error.
"""
import inspect
import logging
import types
import warnings
from typing import Any, Dict, Optional, Sequence, Union

import torch

from . import checkpoint as ckpt
from .allocator import keep_freed_memory
from .core import Base
from .errors import MoEVAEValueError, bad_type, bad_value, check_positive_int
from .log import ensure_console_logging

logger = logging.getLogger("moevae")
PRECISIONS = ("fp32", "tf32", "bf16")
NONFINITE = ("raise", "skip")
_warned_no_cuda = False


class DeepLearningInterface(Base):
    """Train ``model`` with ``loss``; observers watch the epochs.

    Parameters
    ----------
    model: the torch module to train (keyword, as in pynet).
    loss: a callable ``loss(outputs, *targets)``, or ``loss_name`` of a
        torch.nn loss class.
    optimizer_name, learning_rate, **kwargs: a torch.optim class by name,
        its learning rate and its other arguments (or ``optimizer=``).
    metrics: callables ``metric(outputs, *targets)`` averaged per epoch.
    use_cuda: train on the GPU when there is one (else warn, use the CPU).
    device: 'auto', 'cpu', 'cuda' or a torch.device (overrides use_cuda).
    pretrained: a checkpoint or state dict whose weights are loaded.
    resume: with ``pretrained``, also restore the optimizer state.
    precision: 'fp32' (default), 'tf32' (CUDA matmuls) or 'bf16' autocast.
    nonfinite: 'raise' (stop at a NaN/inf loss) or 'skip' such batches.
    keep_checkpoints: how many recent checkpoints to keep (plus best.pth).
    compile: run the forward pass through torch.compile (with CUDA graphs,
        mode 'reduce-overhead', on a GPU); the first epoch pays the compile.
    """

    def __init__(self, net_params: Any = None, pretrained: Optional[str] = None,
                 resume: bool = False, add_labels: bool = False,
                 optimizer_name: str = "Adam", learning_rate: float = 1e-3,
                 loss_name: str = "NLLLoss", metrics: Optional[Sequence] = None,
                 use_cuda: bool = False, *, model: torch.nn.Module = None,
                 loss: Any = None, optimizer: Optional[torch.optim.Optimizer] = None,
                 device: Union[str, torch.device, None] = None,
                 precision: str = "fp32", nonfinite: str = "raise",
                 keep_checkpoints: int = 2, compile: bool = False,
                 **kwargs: Any):
        ensure_console_logging()
        if net_params is not None:
            raise bad_value("net_params", net_params, "None (give the "
                            "network itself as model=)")
        if not isinstance(model, torch.nn.Module):
            raise bad_type("model", model, "a torch.nn.Module")
        if precision not in PRECISIONS:
            raise bad_value("precision", precision, f"one of {PRECISIONS}")
        if nonfinite not in NONFINITE:
            raise bad_value("nonfinite", nonfinite, f"one of {NONFINITE}")
        check_positive_int("keep_checkpoints", keep_checkpoints)
        target = resolve_device(device, use_cuda)
        configure_precision(precision, target)
        if target.type == "cpu":
            keep_freed_memory()
        model = model.to(target)
        if pretrained is not None:
            payload = ckpt.load_checkpoint(pretrained, map_location=target)
            ckpt.load_model_state(model, ckpt.model_state(payload),
                                  pretrained)
        optimizer = optimizer or build_optimizer(
            optimizer_name, model.parameters(), learning_rate, kwargs)
        if pretrained is not None and resume and "optimizer" in payload:
            optimizer.load_state_dict(payload["optimizer"])
        super().__init__(model, build_loss(loss, loss_name), optimizer, target,
                         build_metrics(metrics), add_labels, precision,
                         nonfinite, keep_checkpoints)
        if compile:
            self.forward = compiled(model, target)


def configure_precision(precision: str, device: torch.device) -> None:
    """Turn on TF32; say when a precision cannot help on this device."""
    if precision == "tf32":
        if device.type != "cuda":
            warnings.warn("precision='tf32' only changes CUDA matmuls; "
                          "training in float32 on the CPU", RuntimeWarning,
                          stacklevel=3)
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True
    if precision == "bf16" and device.type == "cpu" and \
            not torch.ops.mkldnn._is_mkldnn_bf16_supported():
        warnings.warn("precision='bf16': this CPU has no bfloat16 matrix "
                      "instructions, autocast will be slower than float32",
                      RuntimeWarning, stacklevel=3)


def compiled(model: torch.nn.Module, device: torch.device
             ) -> "CompiledForward":
    """torch.compile of the forward pass (CUDA graphs on a GPU)."""
    return CompiledForward(model, "reduce-overhead" if device.type == "cuda"
                           else "default")


class CompiledForward:
    """A compiled forward; where compiling fails, warn once and run eager."""

    def __init__(self, model: torch.nn.Module, mode: str):
        self.model = model
        self.function = torch.compile(model, mode=mode)
        self.failed = False

    def __call__(self, *args: Any):
        if not self.failed:
            try:
                return self.function(*args)
            except Exception as error:  # compiler missing, unsupported op
                self.failed = True
                first_line = (str(error).strip().splitlines() or [""])[0]
                warnings.warn(f"compile=True: torch.compile failed here "
                              f"({type(error).__name__}: {first_line[:200]});"
                              " training without it", RuntimeWarning)
        return self.model(*args)


def resolve_device(device: Union[str, torch.device, None],
                   use_cuda: bool) -> torch.device:
    """The training device; CUDA asked for but absent -> warn once, CPU."""
    global _warned_no_cuda
    if device is None:
        device = "cuda" if use_cuda else "cpu"
    if isinstance(device, str) and device not in ("auto", "cpu", "cuda") \
            and not device.startswith("cuda:"):
        raise bad_value("device", device, "'auto', 'cpu', 'cuda' or "
                        "'cuda:N'")
    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    device = torch.device(device)
    if device.type == "cuda" and not torch.cuda.is_available():
        if not _warned_no_cuda:
            warnings.warn("CUDA was requested but no GPU is available: "
                          "training on the CPU", RuntimeWarning, stacklevel=3)
            _warned_no_cuda = True
        device = torch.device("cpu")
    return device


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


def build_loss(loss: Any, loss_name: str) -> Any:
    if loss is not None:
        if not callable(loss):
            raise bad_type("loss", loss, "a callable loss(outputs, *targets)")
        return loss
    klass = getattr(torch.nn, loss_name, None)
    if not (inspect.isclass(klass) and issubclass(klass, torch.nn.Module)
            and loss_name.endswith("Loss")):
        raise bad_value("loss_name", loss_name, "a torch.nn loss class name "
                        "such as 'MSELoss', or a loss= callable")
    return klass()


def build_metrics(metrics: Optional[Sequence]) -> Dict[str, Any]:
    named = {}
    for metric in metrics or []:
        if isinstance(metric, (types.FunctionType, types.BuiltinFunctionType)):
            named[metric.__name__] = metric
        elif callable(metric):
            named[type(metric).__name__] = metric
        else:
            raise bad_type("metrics", metric, "a list of callables "
                           "metric(outputs, *targets)")
    return named
