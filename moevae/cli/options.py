"""``moevae train``'s options, their checks and the run's folder."""
import argparse
import json
from datetime import datetime
from pathlib import Path
from typing import Any, Dict, List

from ..argparsing import OneLineParser, board_address
from ..datasets.mnist import DEFAULT_DATA_DIR
from ..interfaces import PRECISIONS
from ..recipes import RECIPES

NUMBER_OF_FOLDS = 10


def integer_at_least(minimum: int):
    """argparse type: an integer >= minimum."""
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            value = minimum - 1
        if value < minimum:
            raise argparse.ArgumentTypeError(f"{text!r}: expected an integer "
                                             f">= {minimum}")
        return value
    return parse


positive_int = integer_at_least(1)
natural = integer_at_least(0)


def positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = 0.0
    if not value > 0:
        raise argparse.ArgumentTypeError(f"{text!r}: expected a number > 0")
    return value


def build_parser() -> OneLineParser:
    parser = OneLineParser(
        prog="moevae train",
        description="Train the pynet example's mixture of VAE experts on "
        "MNIST while a Visdom board shows it.")
    add = parser.add_argument
    add("--epochs", type=positive_int, default=100, help="epochs per fold "
        "(default %(default)s)")
    add("--batch-size", type=positive_int, default=100,
        help="mini-batch size (default %(default)s)")
    add("--datasetdir", type=Path, default=DEFAULT_DATA_DIR,
        help="MNIST folder (default %(default)s)")
    add("--no-download", dest="download", action="store_false",
        help="do not try torchvision's download")
    add("--device", choices=["auto", "cpu", "cuda"], default="auto",
        help="training device (default %(default)s)")
    add("--board", type=board_address, default="auto", metavar="auto|off|URL",
        help="Visdom server: auto (localhost:8097, started if needed), off, "
        "or its URL")
    add("--seed", type=natural, default=0, help="random seed; a CPU run is "
        "repeatable bit for bit (default %(default)s)")
    add("--name", help="run name: board environment and run folder "
        "(default moe-vae-<time>)")
    add("--run-dir", type=Path, help="run folder (default runs/<name>)")
    add("--checkpointdir", type=Path, help="checkpoint folder (default "
        "<run-dir>/checkpoints)")
    add("--fold", type=natural, default=0, help="fold index, 0-9 "
        "(default %(default)s)")
    add("--validation", action="store_true",
        help="evaluate on the fold's validation split each epoch")
    add("--resume", type=Path, metavar="DIR", help="continue the run whose "
        "folder (or checkpoint folder) is DIR")
    add("--recipe", choices=sorted(RECIPES), default="seed",
        help="model and loss recipe (default %(default)s)")
    add("--layout", choices=["fused", "per-expert"], default="fused",
        help="fused expert stack or the seed's modules (default %(default)s)")
    add("--precision", choices=PRECISIONS, default="fp32",
        help="fp32, tf32 (CUDA) or bf16 autocast (default %(default)s)")
    add("--compile", action="store_true", help="torch.compile the forward "
        "pass (CUDA graphs on a GPU; the first epoch pays the compile)")
    add("--learning-rate", type=positive_float,
        help="Adam learning rate (default: the recipe's)")
    add("--threads", type=positive_int, help="CPU threads for torch "
        "(default: torch's choice, one per core)")
    add("--save-every", type=positive_int, default=1,
        help="checkpoint every N epochs (default %(default)s)")
    add("--keep", type=positive_int, default=2,
        help="recent checkpoints kept (default %(default)s; plus best.pth)")
    add("--nonfinite", choices=["raise", "skip"], default="raise",
        help="on a NaN/inf loss: stop, or skip the batch (default "
        "%(default)s)")
    return parser


def parse(argv: List[str]) -> argparse.Namespace:
    """Parse, check across options, and apply a resumed run's config."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.resume is not None:
        args = resumed_args(parser, argv, args)
    if args.fold >= NUMBER_OF_FOLDS:
        parser.error(f"argument --fold: {args.fold}: expected 0-"
                     f"{NUMBER_OF_FOLDS - 1}")
    if args.device == "cuda":
        import torch
        if not torch.cuda.is_available():
            parser.error("argument --device: cuda: no CUDA device is "
                         "available here; expected auto or cpu")
    args.name = args.name or datetime.now().strftime("moe-vae-%Y%m%d-%H%M%S")
    args.run_dir = args.run_dir or Path("runs") / args.name
    args.checkpointdir = args.checkpointdir or args.run_dir / "checkpoints"
    return args


def resumed_args(parser: OneLineParser, argv: List[str],
                 args: argparse.Namespace) -> argparse.Namespace:
    """Options of the run in ``--resume DIR``, overridden by given ones."""
    folder = args.resume
    if not folder.is_dir():
        parser.error(f"argument --resume: {folder}: no such folder")
    run_dir = folder if (folder / "config.json").is_file() else folder.parent
    config_path = run_dir / "config.json"
    if not config_path.is_file():
        parser.error(f"argument --resume: {folder}: no config.json in it or "
                     "its parent; expected a moevae run folder")
    saved = json.loads(config_path.read_text())
    given = explicit_options(parser, argv)
    merged = vars(parser.parse_args([]))
    merged.update({key: restore(key, value) for key, value in saved.items()
                   if key in merged})
    merged.update({key: getattr(args, key) for key in given})
    merged["resume"] = folder
    merged["run_dir"] = run_dir
    if "checkpointdir" not in given and not (folder / "config.json").is_file():
        merged["checkpointdir"] = folder
    return argparse.Namespace(**merged)


def explicit_options(parser: OneLineParser, argv: List[str]) -> List[str]:
    """Destinations of the options present on the command line."""
    present = []
    for action in parser._actions:
        if any(arg == flag or arg.startswith(flag + "=")
               for arg in argv for flag in action.option_strings):
            present.append(action.dest)
    return present


def restore(key: str, value: Any) -> Any:
    if key in ("datasetdir", "run_dir", "checkpointdir") and value:
        return Path(value)
    if key == "board":
        return board_address(value)
    return value


def config_of(args: argparse.Namespace) -> Dict[str, Any]:
    """The options as JSON-ready values (saved as <run-dir>/config.json)."""
    config = {key: (str(value) if isinstance(value, Path) else value)
              for key, value in vars(args).items() if key != "resume"}
    config["board"] = board_text(args.board)
    return config


def board_text(board) -> str:
    """The --board value that gives ``board`` back."""
    if board is None:
        return "off"
    return "auto" if board.auto else f"{board.host}:{board.port}"
