"""The CHECKPOINT and --device arguments of the commands that use a model.

CHECKPOINT may be a checkpoint file, a checkpoint folder or a run folder
(``runs/NAME``, whose checkpoints are in ``checkpoints/``): in a folder the
best checkpoint (``best.pth``, kept when training validates) is used, else
the newest ``model_<fold>_epoch_<epoch>.pth`` (an unreadable one is skipped
with a warning, as resuming does). The model is rebuilt from
the weights alone, in either layout (fused or per-expert), by
:func:`moevae.evaluation.load_model`.
"""
import argparse
import sys
from pathlib import Path
from typing import Callable, List, Tuple

import torch

from ..argparsing import OneLineParser
from ..checkpoint import BEST_NAME, list_checkpoints
from ..errors import CheckpointError, bad_value
from ..evaluation import load_model

RUN_CHECKPOINTS = "checkpoints"
DEVICES = ("auto", "cpu", "cuda")


def print_warning(message: str) -> None:
    print(f"moevae: warning: {message}", file=sys.stderr)


def checkpoint_candidates(path: Path) -> List[Path]:
    """The checkpoint files ``path`` names or holds, the preferred first.

    A file: itself. A folder: ``best.pth``, then ``model_*_epoch_*.pth``
    newest first, in the folder or else in its ``checkpoints/`` subfolder.
    Raises CheckpointError: ``path`` does not exist or holds none.
    """
    path = Path(path)
    if path.is_file():
        return [path]
    if not path.is_dir():
        raise CheckpointError(f"{path}: no such checkpoint file or folder")
    for folder in (path, path / RUN_CHECKPOINTS):
        best = [folder / BEST_NAME] if (folder / BEST_NAME).is_file() else []
        found = best + (list_checkpoints(folder) if folder.is_dir() else [])
        if found:
            return found
    raise CheckpointError(f"{path}: no checkpoint in this folder (expected "
                          f"{BEST_NAME} or model_<fold>_epoch_<epoch>.pth, "
                          f"here or in {RUN_CHECKPOINTS}/)")


def find_checkpoint(path: Path) -> Path:
    """The checkpoint file to use for ``path`` (see checkpoint_candidates)."""
    return checkpoint_candidates(path)[0]


def choose_device(name: str) -> torch.device:
    """'auto' (CUDA when present), 'cpu' or 'cuda' as a torch.device.

    Raises MoEVAEValueError: an unknown name, or 'cuda' without a GPU.
    """
    if name not in DEVICES:
        raise bad_value("device", name, " or ".join(DEVICES))
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    if name == "cuda" and not torch.cuda.is_available():
        raise bad_value("device", name, "auto or cpu (no CUDA device is "
                        "available here)")
    return torch.device(name)


def load_trained_model(path: Path, device: torch.device,
                       warn: Callable[[str], None] = print_warning
                       ) -> Tuple[Path, torch.nn.Module]:
    """(the checkpoint file used, its model in eval mode on ``device``).

    In a folder, an unreadable or foreign checkpoint is skipped with a
    warning and the next one (best.pth, then newest first) is used.
    Raises CheckpointError: no checkpoint, or none that loads.
    """
    candidates = checkpoint_candidates(path)
    skipped = []
    for candidate in candidates:
        try:
            model = load_model(candidate)
        except CheckpointError as error:
            if len(candidates) == 1:
                raise
            skipped.append(error)
            continue
        for error in skipped:
            warn(f"{error}; skipped, using {candidate}")
        return candidate, model.to(device).eval()
    raise CheckpointError(f"{path}: no checkpoint in this folder loads (the "
                          f"first: {skipped[0]})")


def model_parser(prog: str, description: str, epilog: str) -> OneLineParser:
    """A command's parser with CHECKPOINT and --device, spelt alike."""
    parser = OneLineParser(prog=prog, description=description, epilog=epilog)
    parser.add_argument("checkpoint", type=Path, help="a checkpoint file, or "
                        "a checkpoint or run folder (its best.pth, else its "
                        "newest checkpoint)")
    parser.add_argument("--device", choices=DEVICES, default="auto",
                        help="where the model runs (default %(default)s: "
                        "CUDA when present)")
    return parser


def parsed_device(parser: argparse.ArgumentParser,
                  args: argparse.Namespace) -> torch.device:
    """``args.device`` as a torch.device; a parser error if unusable."""
    try:
        return choose_device(args.device)
    except ValueError as error:
        parser.error(f"argument --device: {error}")
