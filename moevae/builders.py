"""What a DeepLearningInterface is built from: device, optimizer, loss
and numeric precision, each checked with a one-line error (metrics:
moevae.metrics.resolve_metrics).
"""
import contextlib
import inspect
import warnings
from typing import Any, Dict, Iterator, Union

import torch

from .errors import MoEVAEValueError, bad_type, bad_value

PRECISIONS = ("fp32", "tf32", "bf16")
NONFINITE = ("raise", "skip")
_warned_no_cuda = False


def resolve_device(device: Union[str, torch.device, None],
                   use_cuda: bool) -> torch.device:
    """The training device; CUDA asked for but absent -> warn once, CPU.

    Raises MoEVAEValueError for an unknown name or a GPU index that is not
    visible here.
    """
    global _warned_no_cuda
    if device is None:
        device = "cuda" if use_cuda else "cpu"
    if isinstance(device, str) and device not in ("auto", "cpu", "cuda") \
            and not device.startswith("cuda:"):
        raise bad_value("device", device, "'auto', 'cpu', 'cuda' or "
                        "'cuda:N'")
    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    try:
        device = torch.device(device)
    except (RuntimeError, TypeError):
        raise bad_value("device", device, "'auto', 'cpu', 'cuda' or "
                        "'cuda:N'") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        if not _warned_no_cuda:
            warnings.warn("CUDA was requested but no GPU is available: "
                          "training on the CPU", RuntimeWarning, stacklevel=3)
            _warned_no_cuda = True
        return torch.device("cpu")
    if device.type == "cuda" and (device.index or 0) >= \
            torch.cuda.device_count():
        count = torch.cuda.device_count()
        raise bad_value("device", str(device), f"cuda:0 to cuda:{count - 1} "
                        f"({count} GPU(s) visible here)")
    return device


@contextlib.contextmanager
def precision_flags(precision: str, device: torch.device) -> Iterator[None]:
    """TF32 matmuls while training with precision='tf32'; the process's
    flags are put back when the block ends (they are process-wide)."""
    if precision != "tf32":
        yield
        return
    saved = (torch.backends.cuda.matmul.allow_tf32,
             torch.backends.cudnn.allow_tf32)
    torch.backends.cuda.matmul.allow_tf32 = True
    torch.backends.cudnn.allow_tf32 = True
    try:
        yield
    finally:
        (torch.backends.cuda.matmul.allow_tf32,
         torch.backends.cudnn.allow_tf32) = saved


def check_precision(precision: str, device: torch.device) -> None:
    """Refuse an unknown precision; say when one cannot help here."""
    if precision not in PRECISIONS:
        raise bad_value("precision", precision, f"one of {PRECISIONS}")
    if precision == "tf32" and device.type != "cuda":
        warnings.warn("precision='tf32' only changes CUDA matmuls; "
                      "training in float32 on the CPU", RuntimeWarning,
                      stacklevel=3)
    if precision == "bf16" and device.type == "cpu" and \
            not torch.ops.mkldnn._is_mkldnn_bf16_supported():
        warnings.warn("precision='bf16': this CPU has no bfloat16 matrix "
                      "instructions, autocast will be slower than float32",
                      RuntimeWarning, stacklevel=3)


def autocast(precision: str, device: torch.device):
    """bfloat16 autocast when precision='bf16', else nothing."""
    if precision == "bf16":
        return torch.autocast(device.type, dtype=torch.bfloat16)
    return contextlib.nullcontext()


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
