"""Names and choices known without torch: checkpoint file names and the
precisions, so that the command line checks its arguments at once.

A checkpoint is ``model_<fold>_epoch_<epoch>.pth`` (pynet's name: both
count from 0, so ``model_0_epoch_1.pth`` holds fold 0 after its 2nd
epoch); ``_sample_<n>`` is added for a run stopped mid-epoch after n
samples (the first release wrote ``_batch_<n>``).
"""
import re
from pathlib import Path
from typing import List, NamedTuple, Optional

from ..errors import CheckpointError

PRECISIONS = ("fp32", "tf32", "bf16")
INITIAL_NAME = "initial.pth"
LOCK_NAME = ".lock"
BEST_NAME = "best.pth"
RUN_CHECKPOINTS = "checkpoints"
NAME = re.compile(
    r"^model_(\d+)_epoch_(\d+)(?:_(?:batch|sample)_(\d+))?\.pth$")
BEST_OF_FOLD = re.compile(r"^best_(\d+)\.pth$")


class CheckpointPlace(NamedTuple):
    """Where a checkpoint file stands, from its name (epoch from 0)."""
    fold: int
    epoch: int
    position: int  # samples into the epoch; 0: the epoch is complete

    @property
    def trained(self) -> int:
        """Complete epochs of its fold."""
        return self.epoch + (0 if self.position else 1)


def best_name(fold: int, single_fold: bool = True) -> str:
    """``best.pth`` for a run of one fold, ``best_<fold>.pth`` per fold of
    a cross-validation (losses of different validation sets are never
    compared)."""
    return BEST_NAME if single_fold else f"best_{fold}.pth"


def checkpoint_fold(path: Path) -> Optional[int]:
    """The fold a checkpoint's or best copy's file name says, else None."""
    name = Path(path).name
    match = NAME.match(name) or BEST_OF_FOLD.match(name)
    return int(match.group(1)) if match else None


def checkpoint_name(fold: int, epoch: int, position: int = 0) -> str:
    suffix = f"_sample_{position}" if position else ""
    return f"model_{fold}_epoch_{epoch}{suffix}.pth"


def checkpoint_place(path: Path) -> Optional[CheckpointPlace]:
    """(fold, epoch, position) of a checkpoint's name, None if not one."""
    match = NAME.match(Path(path).name)
    if not match:
        return None
    fold, epoch, position = match.groups()
    return CheckpointPlace(int(fold), int(epoch), int(position or 0))


def describe_checkpoint(path: Path, nb_epochs: Optional[int] = None) -> str:
    """``model_0_epoch_0.pth (fold 0, after epoch 1 of 3)``: the file name
    with the epoch counted as the log counts it (from 1)."""
    place = checkpoint_place(path)
    name = Path(path).name
    if place is None:
        return name
    of = "" if nb_epochs is None else f" of {nb_epochs}"
    if place.position:
        return (f"{name} (fold {place.fold}, {place.position} samples into "
                f"epoch {place.epoch + 1}{of})")
    return f"{name} (fold {place.fold}, after epoch {place.epoch + 1}{of})"


def list_checkpoints(directory: Path) -> List[Path]:
    """Checkpoints in ``directory``, newest first: by fold, epoch, then an
    epoch's end after any point within it, then samples into it."""
    found = []
    for path in Path(directory).glob("model_*.pth"):
        place = checkpoint_place(path)
        if place is not None:
            key = (place.fold, place.epoch, place.position == 0,
                   place.position)
            found.append((key, path))
    return [path for _, path in sorted(found, reverse=True)]


def is_mid_epoch(path: Path) -> bool:
    place = checkpoint_place(path)
    return bool(place and place.position)


def checkpoint_candidates(path: Path, fold: Optional[int] = None
                          ) -> List[Path]:
    """The checkpoint files ``path`` names or holds, the preferred first.

    A file: itself (refused when ``fold`` names another fold). A folder:
    the best copy, then ``model_*_epoch_*.pth``
    newest first, in the folder or else in its ``checkpoints/`` subfolder.
    A folder of several folds (a cross-validation) gives the files of
    ``fold`` (default: the last fold trained, see :func:`folds_in`):
    ``best_<fold>.pth``, then that fold's checkpoints.
    Raises CheckpointError: ``path`` does not exist or holds none (of
    ``fold``).
    """
    path = Path(path)
    if path.is_file():
        named = checkpoint_fold(path)
        if fold is not None and named is not None and named != fold:
            raise CheckpointError(
                f"{path}: a checkpoint of fold {named}, not of fold {fold}; "
                "expected --fold with a folder, or the file alone")
        return [path]
    if not path.is_dir():
        raise CheckpointError(f"{path}: no such checkpoint file or folder")
    for folder in (path, path / RUN_CHECKPOINTS):
        folds = folds_in(folder)
        if not folds and not (folder / BEST_NAME).is_file():
            continue
        chosen = folds[-1] if fold is None and folds else fold
        if chosen is not None and folds and chosen not in folds:
            raise CheckpointError(
                f"{folder}: no checkpoint of fold {chosen} (it holds folds "
                f"{', '.join(map(str, folds))})")
        best = [folder / name for name in (f"best_{chosen}.pth", BEST_NAME)
                if (folder / name).is_file()]
        if len(folds) > 1:  # best.pth of a cross-validation: which fold?
            best = best[:1] if best and best[0].name != BEST_NAME else []
        found = best + [candidate for candidate in list_checkpoints(folder)
                        if chosen is None
                        or checkpoint_fold(candidate) == chosen]
        if found:
            return found
    raise CheckpointError(f"{path}: no checkpoint in this folder (expected "
                          f"{BEST_NAME} or model_<fold>_epoch_<epoch>.pth, "
                          f"here or in {RUN_CHECKPOINTS}/)")


def folds_in(folder: Path) -> List[int]:
    """The folds whose checkpoints (or best copies) ``folder`` holds."""
    if not folder.is_dir():
        return []
    return sorted({fold for fold in map(checkpoint_fold,
                                        folder.glob("*.pth"))
                   if fold is not None})


def describe_choice(path: Path, used: Path) -> str:
    """'' or, for a folder of several folds, which fold ``used`` is."""
    folder = used.parent
    folds = folds_in(folder) if Path(path).is_dir() else []
    if len(folds) < 2:
        return ""
    return (f" (fold {checkpoint_fold(used)} of folds "
            f"{', '.join(map(str, folds))}; --fold chooses)")


def report_suffix(checkpoint: Path) -> str:
    """'' or, for a checkpoint of a folder of several folds, '_<fold>':
    what ``moevae evaluate``'s report and pictures add to their names, so
    that each fold's report is kept."""
    fold = checkpoint_fold(checkpoint)
    if fold is None or len(folds_in(Path(checkpoint).parent)) < 2:
        return ""
    return f"_{fold}"


def find_checkpoint(path: Path, fold: Optional[int] = None) -> Path:
    """The checkpoint file to use for ``path`` (see checkpoint_candidates)."""
    return checkpoint_candidates(path, fold)[0]
