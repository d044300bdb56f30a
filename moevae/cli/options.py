"""``moevae train``'s options, their checks and the run's folder."""
import argparse
import os
from datetime import datetime
from pathlib import Path
from typing import Any, Dict, List

from ..argparsing import OneLineParser, board_address
from ..datasets.mnist import DEFAULT_DATA_DIR
from ..builders import PRECISIONS
from ..checkpoint import list_checkpoints
from ..distributed import restarted_by_torchrun
from ..errors import DataError
from ..fileio import read_json
from ..recipes import RECIPES

NUMBER_OF_FOLDS = 10
# options that define a run: refused on resume when they differ
FIXED_ON_RESUME = ("seed", "recipe", "layout", "fold")


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
        help="mini-batch size (default %(default)s); under torchrun the "
        "global batch, shared among the processes")
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
        "folder (or checkpoint folder) is DIR; options given now take "
        "effect (e.g. more --epochs), except --seed, --recipe, --layout and "
        "--fold")
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
    run_id = os.environ.get("TORCHELASTIC_RUN_ID")  # the same on each rank
    args.name = args.name or (f"moe-vae-{run_id}" if run_id and run_id !=
                              "none" else datetime.now().strftime(
                                  "moe-vae-%Y%m%d-%H%M%S"))
    args.run_dir = (args.run_dir or Path("runs") / args.name).absolute()
    args.checkpointdir = (args.checkpointdir or
                          args.run_dir / "checkpoints").absolute()
    checked = os.environ.get("RANK", "0") == "0" and not \
        restarted_by_torchrun()  # a restarted worker resumes its run
    if args.resume is None and checked:
        for folder in (args.run_dir, args.checkpointdir):
            held = sorted(folder.glob("config.json")) + \
                list_checkpoints(folder) if folder.is_dir() else []
            if held:
                parser.error(f"{folder} already holds a run ({held[0].name})"
                             f": resume it with --resume {folder}, or give "
                             "another --name, --run-dir or --checkpointdir")
    return args


def resumed_args(parser: OneLineParser, argv: List[str],
                 args: argparse.Namespace) -> argparse.Namespace:
    """Options of the run in ``--resume DIR``, overridden by given ones.

    DIR is a run folder or its checkpoint folder: both hold the run's
    config.json (an earlier release wrote it to the run folder only).
    Options given now take effect, except those that define the run
    (FIXED_ON_RESUME), which are refused when they differ.
    """
    folder = args.resume.absolute()
    if not folder.is_dir():
        parser.error(f"argument --resume: {folder}: no such folder")
    config_path = next((path for path in (folder / "config.json",
                                          folder.parent / "config.json")
                        if path.is_file()), None)
    if config_path is None:
        parser.error(f"argument --resume: {folder}: no config.json in it or "
                     "its parent; expected a moevae run or checkpoint folder")
    try:
        saved = read_json(config_path, "the config.json that moevae train "
                          "writes", dict)
    except DataError as error:
        parser.error(f"argument --resume: {error}")
    given = explicit_options(parser, argv)
    for key in FIXED_ON_RESUME:
        if key in given and key in saved and getattr(args, key) != saved[key]:
            parser.error(f"argument --{key.replace('_', '-')}: "
                         f"{getattr(args, key)} given on resume, the run "
                         f"used {saved[key]}; a resumed run keeps its "
                         f"{key} (start a new run to change it)")
    merged = vars(parser.parse_args([]))
    merged.update({key: restore(key, value) for key, value in saved.items()
                   if key in merged})
    merged.update({key: getattr(args, key) for key in given})
    run_dir, checkpointdir = resumed_folders(folder, config_path, saved)
    merged["resume"] = folder
    merged["run_dir"] = merged["run_dir"] if "run_dir" in given else run_dir
    if "checkpointdir" in given and \
            merged["checkpointdir"].absolute() != checkpointdir:
        parser.error(f"argument --checkpointdir: {merged['checkpointdir']} "
                     f"given with --resume {args.resume}; expected the "
                     f"run's checkpoint folder {checkpointdir}")
    merged["checkpointdir"] = checkpointdir
    return argparse.Namespace(**merged)


def resumed_folders(folder: Path, config_path: Path,
                    saved: Dict[str, Any]) -> "tuple[Path, Path]":
    """(run folder, checkpoint folder) of the run that ``folder`` names."""
    saved_run = Path(saved.get("run_dir") or config_path.parent)
    saved_checkpoints = Path(saved.get("checkpointdir") or
                             saved_run / "checkpoints")
    if folder in (saved_run.absolute(), saved_checkpoints.absolute()):
        return saved_run.absolute(), saved_checkpoints.absolute()
    if config_path.parent != folder:  # an earlier release's checkpoints/
        return config_path.parent, folder
    if (folder / "checkpoints").is_dir():  # a run folder, moved
        return folder, folder / "checkpoints"
    return (saved_run.absolute() if saved_run.is_dir() else folder), folder


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
