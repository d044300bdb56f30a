"""``moevae train``'s options, their checks and the run's folder."""
import argparse
import os
from datetime import datetime
from pathlib import Path
from typing import Any, Dict, List, Tuple

from ..clustering.recipes import BEST as BEST_RECIPE
from ..clustering.recipes import DEFAULT as DEFAULT_RECIPE
from ..clustering.recipes import RECIPES, recipe_name
from ..datasets.defaults import DEFAULT_DATA_DIR
from ..errors import DataError, MoEVAEError
from ..fileio import read_json
from ..training.names import (
    INITIAL_NAME,
    PRECISIONS,
    checkpoint_place,
    describe_checkpoint,
    list_checkpoints,
)
from .parsing import OneLineParser, board_address, env_name

NUMBER_OF_FOLDS = 10
# options that define a run: refused on resume when they differ
FIXED_ON_RESUME = ("seed", "recipe", "layout", "fold", "name")


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
    add("--name", type=env_name, help="run name: board environment and run "
        "folder (default moe-vae-<time>)")
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
    add("--recipe", type=recipe_name, choices=sorted(RECIPES),
        metavar="RECIPE", default=DEFAULT_RECIPE, help="model and loss "
        "recipe, one of %(choices)s (default %(default)s, the pynet "
        "example's, whose earlier name 'seed' is kept; clusters digits "
        f"best: {BEST_RECIPE})")
    add("--layout", choices=["fused", "per-expert"], default="fused",
        help="fused expert stack or the seed's modules (default %(default)s)")
    add("--precision", choices=PRECISIONS, default="fp32",
        help="fp32, tf32 (CUDA) or bf16 autocast (default %(default)s)")
    add("--compile", action="store_true", help="torch.compile the forward "
        "pass (CUDA graphs on a GPU; the first epoch pays the compile)")
    add("--learning-rate", "--lr", type=positive_float,
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
    try:
        RECIPES[args.recipe]().check_layout(args.layout)
    except MoEVAEError as error:
        parser.error(f"argument --layout: {str(error).split('=', 1)[-1]}")
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
    args.datasetdir = args.datasetdir.expanduser().absolute()
    args.checkpointdir = (args.checkpointdir or
                          args.run_dir / "checkpoints").absolute()
    checked = os.environ.get("RANK", "0") == "0" and not (
        restarted())  # a restarted worker resumes its run
    if args.resume is None and checked:
        written = holds_checkpoints(args.checkpointdir)
        for folder in (args.run_dir, args.checkpointdir):
            checkpoints = list_checkpoints(folder) if folder.is_dir() else []
            held = sorted(folder.glob("config.json")) + checkpoints
            if held and not checkpoints and not written:
                parser.error(f"{folder} holds the config.json of a run that "
                             "wrote no checkpoint (nothing to resume): "
                             f"delete {folder / 'config.json'}, or give "
                             "another --name, --run-dir or --checkpointdir")
            if held:
                parser.error(f"{folder} already holds a run ({held[0].name})"
                             f": resume it with --resume {folder}, or give "
                             "another --name, --run-dir or --checkpointdir")
    return args


def restarted() -> bool:
    """True in a worker that torchrun's agent restarted (torch is imported
    only under torchrun)."""
    if "TORCHELASTIC_RESTART_COUNT" not in os.environ:
        return False
    from ..training.distributed import restarted_by_torchrun
    return restarted_by_torchrun()


def check_trained_epochs(parser: OneLineParser, args: argparse.Namespace,
                         checkpointdir: Path) -> None:
    """Refuse fewer --epochs than the run's newest checkpoint (by its
    name) has trained, before anything is loaded, written or drawn."""
    places = [(path, checkpoint_place(path)) for path in (
        list_checkpoints(checkpointdir) if checkpointdir.is_dir() else [])]
    found = [(path, place) for path, place in places
             if place is not None and place.fold == args.fold]
    if not found:
        return
    newest, place = found[0]
    if args.epochs < place.trained:
        parser.error(f"argument --epochs: {args.epochs}: expected >= "
                     f"{place.trained}: the run has already trained "
                     f"{place.trained} epoch(s) of fold {place.fold} "
                     f"({describe_checkpoint(newest)})")


def resumed_args(parser: OneLineParser, argv: List[str],
                 args: argparse.Namespace) -> argparse.Namespace:
    """Options of the run in ``--resume DIR``, overridden by given ones.

    DIR is a run folder or its checkpoint folder; the run's config.json
    beside the checkpoints is read (else the run folder's). Options given
    now take effect, except those that define the run (FIXED_ON_RESUME),
    which are refused when they differ; each saved value is checked as the
    option itself would be.
    """
    folder = args.resume.absolute()
    if folder.is_file():
        parser.error(f"argument --resume: {folder}: a file; expected a run "
                     "folder or its checkpoint folder")
    if not folder.is_dir():
        parser.error(f"argument --resume: {folder}: no such folder")
    run_dir, checkpointdir = resumed_folders(parser, folder)
    config_path = next((path for path in (checkpointdir / "config.json",
                                          run_dir / "config.json")
                        if path.is_file()), None)
    if config_path is None:
        parser.error(f"argument --resume: {folder}: no config.json in it; "
                     "expected a moevae run folder or its checkpoint folder")
    saved = read_config(parser, config_path)
    given = explicit_options(parser, argv)
    for key in FIXED_ON_RESUME:
        if key in given and key in saved and getattr(args, key) != restored(
                parser, config_path, key, saved[key]):
            parser.error(f"argument --{key.replace('_', '-')}: "
                         f"{getattr(args, key)} given on resume, the run "
                         f"used {saved[key]}; a resumed run keeps its "
                         f"{key} (start a new run to change it)")
    merged = vars(parser.parse_args([]))
    merged.update({key: restored(parser, config_path, key, value)
                   for key, value in saved.items() if key in merged and
                   key not in ("run_dir", "checkpointdir", "resume")})
    merged.update({key: getattr(args, key) for key in given})
    if ("checkpointdir" in given and
            merged["checkpointdir"].absolute() != checkpointdir):
        parser.error(f"argument --checkpointdir: {merged['checkpointdir']} "
                     f"given with --resume {args.resume}; expected the "
                     f"run's checkpoint folder {checkpointdir}")
    if "run_dir" in given and merged["run_dir"].absolute() != run_dir:
        # its board log, config and history would part from its checkpoints
        held = (" holds another run;" if (merged["run_dir"] /
                                          "config.json").is_file() else "")
        parser.error(f"argument --run-dir: {merged['run_dir']}{held} given "
                     f"on resume; expected the run's own folder {run_dir} "
                     "(a resumed run keeps its folder)")
    merged.update(resume=folder, checkpointdir=checkpointdir,
                  run_dir=run_dir)
    resumed = argparse.Namespace(**merged)
    check_trained_epochs(parser, resumed, checkpointdir)
    return resumed


def holds_checkpoints(folder: Path) -> bool:
    """True once a run wrote into ``folder``: its initial states or a
    checkpoint."""
    return (folder / INITIAL_NAME).is_file() or bool(list_checkpoints(folder))


def resumed_folders(parser: OneLineParser, folder: Path
                    ) -> Tuple[Path, Path]:
    """(run folder, checkpoint folder) of the run that ``folder`` names,
    from the folders themselves: a copied or moved run resumes where it
    is, never into the folder it was copied from."""
    if (folder / "checkpoints").is_dir():
        return folder, folder / "checkpoints"
    own = folder / "config.json"
    if (folder.name != "checkpoints" and not holds_checkpoints(folder) and
            own.is_file()):  # its checkpoints elsewhere
        elsewhere = read_config(parser, own).get("checkpointdir")
        if elsewhere and Path(elsewhere).is_dir():
            return folder, Path(elsewhere)
        parser.error(f"argument --resume: {folder}: no checkpoints in it, "
                     f"and its config.json names no existing checkpoint "
                     f"folder ({elsewhere}); expected a run folder or its "
                     "checkpoint folder")
    if ((folder.parent / "config.json").is_file() and
            folder.name == "checkpoints"):
        return folder.parent, folder
    if own.is_file():  # --checkpointdir X: the run folder names X too
        saved_run = read_config(parser, own).get("run_dir")
        if (saved_run and (Path(saved_run) / "config.json").is_file() and
                read_config(parser, Path(saved_run) / "config.json").get(
                    "checkpointdir") == str(folder)):
            return Path(saved_run), folder
    return folder, folder


def read_config(parser: OneLineParser, path: Path) -> Dict[str, Any]:
    try:
        return read_json(path, "the config.json that moevae train writes",
                         dict)
    except DataError as error:
        parser.error(f"argument --resume: {error}")


def restored(parser: OneLineParser, path: Path, key: str, value: Any) -> Any:
    """A saved option's value, checked as the option checks it."""
    action = next(action for action in parser._actions if action.dest == key)
    flag = action.option_strings[0] if action.option_strings else key
    problem = None
    if value is None:
        problem = None if action.default is None else "null"
    elif isinstance(action.const, bool) and action.nargs == 0:  # a switch
        problem = None if isinstance(value, bool) else "not true/false"
    elif callable(action.type):
        try:
            value = action.type(value if isinstance(value, str) else
                                json_text(value))
        except (argparse.ArgumentTypeError, ValueError, TypeError) as error:
            problem = str(error) or "not valid"
    if (problem is None and value is not None and action.choices and
            value not in action.choices):
        problem = f"not one of {sorted(action.choices)}"
    if problem is not None:
        parser.error(f"argument --resume: {path}: {key}={value!r} ({problem})"
                     f"; expected a value {flag} takes")
    return value


def json_text(value: Any) -> str:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"a {type(value).__name__}")
    return str(value)


def explicit_options(parser: OneLineParser, argv: List[str]) -> List[str]:
    """Destinations of the options present on the command line."""
    present = []
    for action in parser._actions:
        if any(arg == flag or arg.startswith(flag + "=")
               for arg in argv for flag in action.option_strings):
            present.append(action.dest)
    return present


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
    if board.auto:
        return "auto"
    from ..server.address import parse_server_url
    return parse_server_url(board.host, board.port).saved_url
