"""``moevae predict CHECKPOINT INPUT``: each image's expert, by the manager.

INPUT is an .npy array, an IDX file (gzip or raw) or a folder of PNG
images (MNIST-like: white on black, the model's size). The CSV has one row
per image: ``image`` (its row number, or its file name for PNGs),
``expert`` (the manager's most probable expert: a cluster number, not a
digit), ``digit`` (that expert's digit, when ``moevae evaluate`` has
matched the experts to digits on labelled MNIST: its evaluation.json) and
``p_0`` ... ``p_<K-1>`` (the manager's probabilities).
Exit status: 0 done, 2 bad input, 1 an output that cannot be written.
"""
import json
import sys
from pathlib import Path
from typing import List, Optional

from ..datasets.defaults import KINDS
from ..errors import MoEVAEError, MoEVAEValueError
from ..training.names import (
    checkpoint_fold,
    describe_choice,
    find_checkpoint,
    report_suffix,
)
from .checkpoints import model_parser
from .outputs import check_output, run_reporting_errors

PROG = "moevae predict"
CSV_COLUMNS = ("CSV columns: image (row number or PNG file name), expert "
               "(the most probable: a cluster number), digit (with an "
               "evaluation.json), p_0 ... p_<K-1> (the manager's "
               "probabilities).")


def parse(argv: List[str]):
    parser = model_parser(PROG, __doc__.splitlines()[0], CSV_COLUMNS)
    parser.add_argument("input", type=Path, help=KINDS)
    parser.add_argument("--out", type=Path,
                        default=Path("predictions.csv"),
                        help="the CSV file (default %(default)s)")
    parser.add_argument("--evaluation", type=Path, metavar="JSON",
                        help="`moevae evaluate`'s report, whose matching of "
                        "experts to digits gives the digit column (default: "
                        "the evaluation.json beside the checkpoint, if it "
                        "was made for it)")
    args = parser.parse_args(argv)
    try:
        find_checkpoint(args.checkpoint, args.fold)
        check_output("--out", args.out, inputs=[args.input])
    except MoEVAEError as error:
        parser.error(str(error))
    if not args.input.exists():
        parser.error(f"argument input: {args.input}: no such file or folder;"
                     f" expected {KINDS}")
    if args.evaluation is not None and not args.evaluation.is_file():
        parser.error(f"argument --evaluation: {args.evaluation}: no such "
                     "file; expected the evaluation.json `moevae evaluate` "
                     "writes")
    return args


def predictions_table(names: List[str], probabilities,
                      digits: Optional[List[int]] = None):
    """image, expert (argmax), digit (if ``digits`` maps experts to
    digits) and p_0 ... p_<K-1> columns, one row each."""
    import pandas as pd
    experts = probabilities.argmax(axis=1)
    table = pd.DataFrame({"image": names, "expert": experts})
    if digits is not None:
        table["digit"] = [digits[k] for k in experts]
    for k in range(probabilities.shape[1]):
        table[f"p_{k}"] = probabilities[:, k]
    return table


def expert_digits(checkpoint: Path, report: Optional[Path],
                  experts: int) -> Optional[tuple]:
    """(each expert's digit, the report) from evaluate's JSON, or None.

    The default report (beside the checkpoint) counts only when it was
    written for this checkpoint, after it; a report named with
    --evaluation that does not fit the model is refused.
    """
    path = report or (checkpoint.parent /
                      f"evaluation{report_suffix(checkpoint)}.json")
    try:
        payload = json.loads(path.read_text())
        digits = [int(d) for d in payload["expert_digits"]]
        source = Path(payload["checkpoint"])
    except (OSError, ValueError, KeyError, TypeError):
        if report is None:
            return None
        raise MoEVAEValueError(f"--evaluation {report}: no expert_digits in "
                               "it; expected a report of `moevae evaluate` "
                               "(run it again)") from None
    if len(digits) != experts:
        if report is None:
            return None
        raise MoEVAEValueError(f"--evaluation {report}: it maps "
                               f"{len(digits)} experts, the model has "
                               f"{experts}; expected the report of this "
                               "model")
    if report is None and (not source.is_file() or not source.samefile(
            checkpoint) or path.stat().st_mtime < checkpoint.stat().st_mtime):
        return None
    return digits, path


def write_csv(table, path: Path) -> None:
    from .outputs import atomic_outputs
    text = table.to_csv(index=False, float_format="%.6g")
    with atomic_outputs("--out", [path]) as (handle,):
        handle.write(text.encode())


def run(args) -> None:
    import numpy as np
    import torch

    from ..clustering.scores import manager_probabilities
    from ..datasets.images import read_images
    from ..training.loading import load_trained_model, model_input_dim
    from .checkpoints import checked_device
    device = checked_device(args.device)
    checkpoint, model = load_trained_model(args.checkpoint, device,
                                           fold=args.fold)
    names, images = read_images(args.input, model_input_dim(model))
    probabilities = manager_probabilities(model, torch.from_numpy(images))
    mapped = expert_digits(checkpoint, args.evaluation,
                           probabilities.shape[1])
    table = predictions_table(names, probabilities,
                              mapped[0] if mapped else None)
    write_csv(table, args.out)
    shares = np.bincount(table["expert"], minlength=probabilities.shape[1]
                         ) / len(table)
    used = f"{checkpoint}{describe_choice(args.checkpoint, checkpoint)}"
    print(f"{used}: {len(table)} image(s) of {args.input}, on "
          f"{device.type}\nshare per expert: " +
          " ".join(f"{share:.1%}" for share in shares))
    if mapped:
        print(f"digit: each expert's digit as matched by {mapped[1]} "
              "(`moevae evaluate` on labelled MNIST)")
    else:
        fold = (f" --fold {checkpoint_fold(checkpoint)}"
                if report_suffix(checkpoint) else "")
        print("no digit column: `expert` is the manager's cluster number, "
              f"not a digit; `moevae evaluate {args.checkpoint}{fold}` "
              "matches experts to digits on labelled MNIST, then predict "
              "adds it")
    print(f"written: {args.out}")


def main(argv: Optional[List[str]] = None) -> int:
    args = parse(sys.argv[1:] if argv is None else argv)
    return run_reporting_errors(PROG, lambda: run(args))
