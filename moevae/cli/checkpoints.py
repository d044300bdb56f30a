"""The CHECKPOINT and --device arguments of the commands that use a model.

CHECKPOINT may be a checkpoint file, a checkpoint folder or a run folder
(``runs/NAME``, whose checkpoints are in ``checkpoints/``); the model is
loaded by :func:`moevae.training.loading.load_trained_model`.
"""
import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import bad_value
from .parsing import OneLineParser

if TYPE_CHECKING:  # imported once the arguments are read
    import torch

DEVICES = ("auto", "cpu", "cuda")


def print_warning(message: str) -> None:
    print(f"moevae: warning: {message}", file=sys.stderr)


def choose_device(name: str) -> "torch.device":
    """'auto' (CUDA when present), 'cpu' or 'cuda' as a torch.device.

    Raises MoEVAEValueError: an unknown name, or 'cuda' without a GPU.
    """
    import torch
    if name not in DEVICES:
        raise bad_value("device", name, " or ".join(DEVICES))
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    if name == "cuda" and not torch.cuda.is_available():
        raise bad_value("device", name, "auto or cpu (no CUDA device is "
                        "available here)")
    return torch.device(name)


def model_parser(prog: str, description: str, epilog: str) -> OneLineParser:
    """A command's parser with CHECKPOINT and --device, spelt alike."""
    parser = OneLineParser(prog=prog, description=description, epilog=epilog)
    parser.add_argument("checkpoint", type=Path, help="a checkpoint file, or "
                        "a checkpoint or run folder (its best.pth, else its "
                        "newest checkpoint)")
    add_fold(parser)
    parser.add_argument("--device", choices=DEVICES, default="auto",
                        help="where the model runs (default %(default)s: "
                        "CUDA when present)")
    return parser


def add_fold(parser: argparse.ArgumentParser) -> None:
    """--fold: which fold of a cross-validation folder to use."""
    from .parsing import integer_in_range
    parser.add_argument("--fold", type=integer_in_range(0), metavar="N",
                        help="in a folder of several folds, use fold N's "
                        "best (else newest) checkpoint (default: the last "
                        "fold trained)")


def checked_device(name: str) -> "torch.device":
    """--device as a torch.device (imports torch: called once the other
    arguments are checked); MoEVAEValueError naming the flag."""
    from ..errors import MoEVAEValueError
    try:
        return choose_device(name)
    except ValueError as error:
        raise MoEVAEValueError(
            f"argument --device: {str(error).split('=', 1)[-1]}") from None
