"""The one model loader: a trained mixture from a checkpoint file, a
checkpoint folder or a run folder, and the weights (and optimizer state)
of a checkpoint put into a model that exists (resume, ``pretrained=``).

``moevae evaluate``, ``sample`` and ``predict`` and the library use it. In
a folder the best checkpoint (``best.pth``, kept when training validates)
is used, else the newest ``model_<fold>_epoch_<epoch>.pth``; an unreadable
or foreign one is skipped with a warning, as resuming does. The model is
rebuilt from the weights alone, in either layout (fused or per-expert),
its sizes read from the weight shapes.
"""
import logging
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Tuple, Union

import torch

from ..errors import CheckpointError, bad_value
from ..models import FusedManager, build_manager
from ..models.convolutional import ConvGatedManager
from . import checkpoint as ckpt
from .checkpoint import BEST_NAME, list_checkpoints  # noqa: F401
from .names import (  # noqa: F401
    RUN_CHECKPOINTS,
    checkpoint_candidates,
    describe_choice,
    find_checkpoint,
    folds_in,
)

logger = logging.getLogger("moevae")


def model_from_state(state: Dict[str, torch.Tensor], source: object
                     ) -> torch.nn.Module:
    """A FusedManager (or ConvGatedManager) or seed Manager shaped like the
    weights in ``state``, in eval mode; ``source`` names it in errors.

    Raises CheckpointError: not a mixture's weights, or mismatched ones.
    """
    model: torch.nn.Module
    if "in_weight" in state and "latent_weight" in state:
        experts, twice_latent, hidden = state["latent_weight"].shape
        fused = ConvGatedManager if any(key.startswith("conv_gate.")
                                        for key in state) else FusedManager
        model = fused(state["in_weight"].shape[1], hidden, twice_latent // 2,
                      experts)
    elif "_experts.0.encoder.linear.weight" in state:
        experts = len({key.split(".")[1] for key in state
                       if key.startswith("_experts.")})
        hidden, inputs = state["_experts.0.encoder.linear.weight"].shape
        latent = state["_experts.0.encoder.mu.weight"].shape[0]
        model = build_manager(inputs, hidden, latent, experts)
    else:
        raise CheckpointError(f"{source}: not a mixture-of-experts checkpoint"
                              " (no 'in_weight' nor '_experts.*' weights)")
    load_model_state(model, state, source)
    return model.eval()



def load_model(path: Union[str, Path]) -> torch.nn.Module:
    """The model of one checkpoint file, in eval mode on the CPU.

    Raises CheckpointError: unreadable, or not a mixture-of-experts
    checkpoint.
    """
    payload = ckpt.load_checkpoint(Path(path))
    return model_from_state(ckpt.model_state(payload), path)



def model_input_dim(model: torch.nn.Module) -> int:
    """How many pixels (D of (B, D) inputs) the mixture reads."""
    if isinstance(model, FusedManager):
        return model.input_dim
    return int(getattr(model, "linear1").in_features)  # noqa: B009


def load_trained_model(path: Path, device: torch.device,
                       warn: Callable[[str], None] = logger.warning,
                       fold: Optional[int] = None
                       ) -> Tuple[Path, torch.nn.Module]:
    """(the checkpoint file used, its model in eval mode on ``device``).

    In a folder, an unreadable or foreign checkpoint is skipped with a
    warning and the next one (best.pth, then newest first) is used.
    ``fold``: which fold of a cross-validation folder (default the last).
    Raises CheckpointError: no checkpoint, or none that loads.
    """
    candidates = checkpoint_candidates(path, fold)
    skipped: List[CheckpointError] = []
    for candidate in candidates:
        try:
            model = load_model(candidate)
        except CheckpointError as error:
            if len(candidates) == 1:
                raise
            skipped.append(error)
            continue
        for problem in skipped:
            warn(f"{problem}; skipped, using {candidate}")
        return candidate, model.to(device).eval()
    raise CheckpointError(f"{path}: no checkpoint in this folder loads (the "
                          f"first: {skipped[0]})")


def load_pretrained(model: torch.nn.Module,
                    optimizer: Optional[torch.optim.Optimizer],
                    pretrained: Union[str, Path], device: torch.device
                    ) -> None:
    """pynet's ``pretrained=`` (and ``resume=True``): the checkpoint's
    weights into ``model``, and its optimizer state into ``optimizer``
    when one is given.

    Raises CheckpointError (unreadable, or weights of another shape);
    MoEVAEValueError when an optimizer state is asked for and the
    checkpoint holds none.
    """
    payload = ckpt.load_checkpoint(Path(pretrained), map_location=device)
    load_model_state(model, ckpt.model_state(payload), pretrained)
    if optimizer is None:
        return
    if "optimizer" not in payload:
        raise bad_value("resume", True, "pretrained= a checkpoint holding "
                        "an optimizer state (to continue a run, use "
                        "training(..., resume=True))")
    load_optimizer_state(optimizer, payload["optimizer"], pretrained)


def load_model_state(model: torch.nn.Module, state: Dict[str, torch.Tensor],
                     source: Any) -> None:
    """Load weights, naming the first parameter that does not match."""
    convert = getattr(model, "convert_state_dict", None)
    if convert is not None:  # a fused model also reads per-expert weights
        state = convert(state)
    expected = model.state_dict()
    missing = sorted(set(expected) - set(state))
    unexpected = sorted(set(state) - set(expected))
    if missing or unexpected:
        name = (missing or unexpected)[0]
        where = "missing from" if missing else "unknown to the model, in"
        raise CheckpointError(f"{source}: parameter {name!r} is {where} the "
                              "checkpoint; expected the same model")
    for name, tensor in expected.items():
        if tuple(state[name].shape) != tuple(tensor.shape):
            raise CheckpointError(
                f"{source}: parameter {name!r} has shape "
                f"{tuple(state[name].shape)} in the checkpoint but "
                f"{tuple(tensor.shape)} in the model")
    model.load_state_dict(state)



def load_optimizer_state(optimizer: torch.optim.Optimizer,
                         state: Dict[str, Any], source: Any) -> None:
    """Load an optimizer state saved by the same kind of optimizer.

    Raises CheckpointError (one line) when its parameter groups differ in
    number, size or settings (a state of SGD given to Adam: torch would
    load it and fail at the first step).
    """
    groups = state.get("param_groups") if isinstance(state, dict) else None
    mine = optimizer.param_groups
    if not isinstance(groups, list) or len(groups) != len(mine):
        raise CheckpointError(f"{source}: its optimizer state has "
                              f"{len(groups or [])} parameter group(s), this "
                              f"{type(optimizer).__name__} {len(mine)}")
    for index, (saved, own) in enumerate(zip(groups, mine)):
        missing = sorted(set(own) - set(saved) - {"params", "initial_lr"})
        if missing or len(saved.get("params", [])) != len(own["params"]):
            raise CheckpointError(
                f"{source}: its optimizer state (group {index}) does not fit "
                f"this {type(optimizer).__name__} over these parameters "
                f"(missing {missing[:4]}); build the optimizer it was saved "
                "with")
    optimizer.load_state_dict(state)
