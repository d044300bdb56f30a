"""``moevae train``: the seed configuration, with its board, from the shell.

Exit status: 0 done; 2 bad input (one line, no traceback); 1 a failure
during training (NaN loss, a checkpoint that cannot be written); 130/143
stopped by SIGINT/SIGTERM after writing a checkpoint.
"""
import logging
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, List, Optional

from .options import NUMBER_OF_FOLDS, config_of, parse

if TYPE_CHECKING:  # torch is imported once the arguments are read
    from ..history import History

logger = logging.getLogger("moevae")
RECONSTRUCTED_IMAGES = 8
# the library's parameters, as the flags of ``moevae train`` spell them
FLAGS = {"nb_epochs": "--epochs", "fold_index": "--fold",
         "learning_rate": "--learning-rate", "batch_size": "--batch-size",
         "save_after_epochs": "--save-every", "keep_checkpoints": "--keep",
         "checkpointdir": "--checkpointdir", "device": "--device",
         "precision": "--precision", "nonfinite": "--nonfinite",
         "with_validation": "--validation", "layout": "--layout",
         "recipe": "--recipe", "datasetdir": "--datasetdir"}


def seed_everything(seed: int) -> None:
    import random

    import numpy as np
    import torch
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def build_data_manager(args, recipe):
    """The seed's DataManager: 10 stratified folds, flattened images.

    A recipe that starts from a partition gets it as the labels.
    """
    import numpy as np

    from ..clustering.partition import partition_table
    from ..datasets import DataManager, fetch_minst
    from ..transforms import flatten
    data = fetch_minst(str(args.datasetdir), download=args.download)
    metadata_path, labels = data.metadata_path, None
    if recipe.needs_partition:
        images = np.load(data.input_path, mmap_mode="r")
        metadata_path = str(partition_table(data.metadata_path, images,
                                            args.run_dir, args.seed,
                                            method=recipe.partition))
        labels = "partition"
    return DataManager(
        input_path=data.input_path, metadata_path=metadata_path,
        labels=labels, stratify_label="label",
        number_of_folds=NUMBER_OF_FOLDS, batch_size=args.batch_size,
        test_size=0, input_transforms=[flatten], add_input=True,
        sample_size=1)


def attach_board(interface, args, data_manager, config) -> None:
    """The board and its panes; drawn from the first epoch on, so that a
    refused resume leaves the run's board as it was."""
    import numpy as np

    from ..plotting import (
        Board,
        ExpertUsage,
        Reconstructions,
        Sampling,
        show_config,
        update_board,
    )
    host, port, auto = args.board
    board = Board(port=port, host=host, env=args.name, start_server=auto,
                  log_path=args.run_dir / "board.jsonl")
    interface.board = board
    interface.add_observer("after_epoch", update_board)
    shape = data_manager.inputs.shape[1:]  # the unflattened images
    interface.add_observer("after_epoch", Sampling(image_shape=shape))
    train_rows = data_manager["train"][args.fold].indices
    fixed = train_rows[np.linspace(0, len(train_rows) - 1,
                                   RECONSTRUCTED_IMAGES).astype(int)]
    interface.add_observer("after_epoch", Reconstructions(
        data_manager.inputs[fixed].reshape(len(fixed), -1).copy(),
        image_shape=shape))
    ExpertUsage().attach(interface)
    show_config(board, config)


def write_config(args, config) -> None:
    """config.json in the run folder and beside the checkpoints, so that
    ``--resume`` works from either folder, even before the first
    checkpoint is complete."""
    from ..fileio import write_json
    for folder in (args.run_dir, args.checkpointdir):
        folder.mkdir(parents=True, exist_ok=True)
        write_json(folder / "config.json", config)


def run(args) -> int:
    import numpy as np
    import torch

    from ..clustering.monitor import ClusteringMonitor
    from ..clustering.recipes import get_recipe
    from ..interfaces import DeepLearningInterface
    from ..log import ensure_console_logging
    from ..training.distributed import Distributed

    main_rank = Distributed.from_environment().is_main  # rank 0 writes
    ensure_console_logging(logging.INFO if main_rank else logging.WARNING)
    config = config_of(args)
    args.run_dir.mkdir(parents=True, exist_ok=True)
    if args.threads:
        torch.set_num_threads(args.threads)
    seed_everything(args.seed)
    recipe = get_recipe(args.recipe)
    data_manager = build_data_manager(args, recipe)
    interface = DeepLearningInterface(
        model=recipe.build_model(args.layout), optimizer_name="Adam",
        learning_rate=args.learning_rate or recipe.learning_rate,
        loss=recipe.build_loss(), device=args.device,
        precision=args.precision, nonfinite=args.nonfinite,
        keep_checkpoints=args.keep, compile=args.compile,
        keep_freed_memory=True)
    recipe.attach(interface)
    if args.resume is None and main_rank:
        write_config(args, config)
    held_out = data_manager["validation"][args.fold].indices
    monitor = ClusteringMonitor(
        np.array(data_manager.inputs[held_out]).reshape(len(held_out), -1),
        data_manager.metadata["label"].to_numpy()[held_out])
    pending = [config]

    def start(signal) -> None:
        """Once resuming passed (or a new run began): the resumed run's
        config, its board, the clustering scores."""
        if not pending:
            return
        pending.pop()
        try:
            if args.resume is not None and main_rank:
                write_config(args, config)
            if args.board is not None and main_rank:
                attach_board(interface, args, data_manager, config)
                board = interface.board
                if args.resume is not None and board is not None:
                    # drop the points drawn after the checkpoint
                    board.resume_at(signal.fold, signal.epoch)
        finally:
            interface.add_observer("after_epoch", monitor)
    interface.add_observer("before_epoch", start, side_effect=False)
    logger.info("training on %s, %d threads; run folder %s",
                interface.device, torch.get_num_threads(), args.run_dir)
    try:
        train_history, valid_history = interface.training(
            manager=data_manager, nb_epochs=args.epochs,
            checkpointdir=str(args.checkpointdir), fold_index=args.fold,
            with_validation=args.validation,
            save_after_epochs=args.save_every,
            resume=args.resume is not None)
    except BaseException as error:  # the board says how the run ended
        if interface.board is not None:
            interface.board.close(status="stopped" if isinstance(
                error, KeyboardInterrupt) else "failed")
        if main_rank and interface.histories is not None and (
                interface.histories[0].steps):  # the epochs that completed
            write_histories(args.run_dir, *interface.histories)
        raise
    if not main_rank:
        return 0
    write_histories(args.run_dir, train_history, valid_history)
    if interface.board is not None:  # one flush, bounded by its timeout
        interface.board.close()
    print(done_line(args, train_history, interface.board))
    return 0


def write_histories(run_dir: Path, train: "History",
                    validation: "History") -> None:
    """history.json: every epoch the run logged (atomic)."""
    from ..fileio import write_json
    write_json(run_dir / "history.json", {"train": train.to_dict(),
                                          "validation": validation.to_dict()})


def done_line(args, history, board) -> str:
    """The last line: final loss, newest checkpoint, where the board is
    and how to stop its server."""
    from ..server.launch import answers, stop_command
    from ..training.names import describe_checkpoint, list_checkpoints
    final = (history.history[history.steps[-1]]["loss"] if history.steps
             else None)
    found = list_checkpoints(args.checkpointdir)
    parts = [f"moevae train: done, final loss {final:.5g}" if final is not
             None else "moevae train: done (nothing left to train)"]
    if found:
        parts.append(f"checkpoints in {args.checkpointdir}, newest "
                     f"{describe_checkpoint(found[0], args.epochs)}")
    if board is None:
        shown = args.run_dir / "board.jsonl"
        if args.board is not None and shown.is_file():
            parts.append(f"board log {shown} (`moevae replay {shown}` "
                         "redraws it)")
    elif answers(board.host, board.port):
        from ..server.launch import DEFAULT_ENV_PATH, pid_file
        who = ("the server this run started" if board.server is not None
               else "its server")
        # a board started elsewhere (another --env-path, Docker) is stopped
        # where it was started: no command here would find it
        how = (f"`{stop_command(DEFAULT_ENV_PATH, board.port)}` stops it"
               if pid_file(DEFAULT_ENV_PATH, board.port).is_file() else
               "stop it where it was started")
        parts.append(f"board {board.env_url} ({who} keeps running; {how})")
    else:
        parts.append(f"board server at {board.url} not answering; "
                     f"`moevae board` then `moevae replay {board.log_path}` "
                     "draws it")
    return "; ".join(parts)


def main(argv: Optional[List[str]] = None) -> int:
    args = parse(sys.argv[1:] if argv is None else argv)
    from ..errors import (
        CheckpointWriteError,
        NonFiniteLossError,
        TrainingInterrupted,
    )
    from .outputs import run_reporting_errors
    try:
        return run_reporting_errors(
            "moevae train", lambda: run(args), FLAGS,
            failures=(NonFiniteLossError, CheckpointWriteError))
    except TrainingInterrupted as stop:
        if os.environ.get("RANK", "0") == "0":  # once under torchrun
            print(f"moevae train: {stop}", file=sys.stderr)
        return 128 + stop.signal_number
    except KeyboardInterrupt:  # before training started, or a second Ctrl-C
        print("moevae train: interrupted; the newest checkpoint (if any) is "
              "kept", file=sys.stderr)
        return 130
