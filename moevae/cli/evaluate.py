"""``moevae evaluate CHECKPOINT``: how well the experts split the digits.

CHECKPOINT is a .pth file, a checkpoints folder or a run folder (holding
checkpoints/): a folder gives its best.pth, else its newest checkpoint.

Prints ACC (Hungarian matching), NMI, ARI, each expert's share of the
images and the expert x digit counts; writes them as JSON and draws the
confusion matrix and each expert's samples as PNG files.
Exit status: 0 done, 2 bad input (missing or mismatching checkpoint).
"""
import sys
from pathlib import Path
from typing import List, Optional

from ..datasets.defaults import DEFAULT_DATA_DIR
from ..errors import CheckpointError, MoEVAEError
from ..training.names import describe_choice, find_checkpoint, report_suffix
from .checkpoints import add_fold
from .parsing import OneLineParser


def parse(argv: List[str]):
    parser = OneLineParser(prog="moevae evaluate",
                           description=__doc__.splitlines()[0])
    parser.add_argument("checkpoint", type=Path,
                        help="a checkpoint (.pth), a model state dict, or a "
                        "run or checkpoints folder (its best.pth, else its "
                        "newest checkpoint)")
    add_fold(parser)
    parser.add_argument("--datasetdir", type=Path, default=DEFAULT_DATA_DIR,
                        help="MNIST folder (default %(default)s)")
    parser.add_argument("--json", type=Path, help="report file (default "
                        "<checkpoint folder>/evaluation.json)")
    parser.add_argument("--pictures", type=Path, help="folder for "
                        "confusion.png and experts.png (default: the "
                        "report's folder)")
    args = parser.parse_args(argv)
    try:
        chosen = find_checkpoint(args.checkpoint, args.fold)
    except CheckpointError as error:
        parser.error(f"argument checkpoint: {error}")
    args.suffix = report_suffix(chosen)  # each fold's report is kept
    args.json = args.json or chosen.parent / f"evaluation{args.suffix}.json"
    args.pictures = args.pictures or args.json.parent
    from .outputs import check_output
    try:
        check_output("--json", args.json, ".json", inputs=[chosen])
        for name in ("confusion", "experts"):
            check_output("--pictures",
                         args.pictures / f"{name}{args.suffix}.png",
                         inputs=[chosen])
    except MoEVAEError as error:
        parser.error(str(error))
    return args


def report(scores) -> str:
    from ..clustering.scores import expert_digits
    usage = " ".join(f"{share:.1%}" for share in scores.usage)
    digits = " ".join(f"{k}->{d}" for k, d in enumerate(
        expert_digits(scores.confusion)))
    counts = "\n".join(f"  expert {k}: " + " ".join(f"{n:5d}" for n in row)
                       for k, row in enumerate(scores.confusion))
    return (f"ACC {scores.acc:.4f}  NMI {scores.nmi:.4f}  ARI "
            f"{scores.ari:.4f}  ({scores.collapsed} expert(s) under 2%)\n"
            f"usage per expert: {usage}\n"
            f"digit per expert (the matching ACC scores): {digits}\n"
            "expert x digit:  " + " ".join(f"{d:5d}" for d in range(
                len(scores.confusion[0]))) + "\n" + counts)


def main(argv: Optional[List[str]] = None) -> int:
    args = parse(sys.argv[1:] if argv is None else argv)
    import numpy as np
    import pandas as pd
    import torch

    from ..clustering.evaluation import evaluate, write_reports
    from ..datasets import fetch_minst
    from ..training.loading import load_trained_model
    try:
        used, model = load_trained_model(
            args.checkpoint, torch.device("cpu"), fold=args.fold,
            warn=lambda text: print(f"moevae evaluate: warning: {text}",
                                    file=sys.stderr))
        data = fetch_minst(str(args.datasetdir))  # a fallback warns
        images = np.load(data.input_path, mmap_mode="r")
        labels = pd.read_csv(data.metadata_path, sep="\t")["label"].to_numpy()
        scores = evaluate(model, images, labels)
    except MoEVAEError as error:
        print(f"moevae evaluate: error: {error}", file=sys.stderr)
        return 2
    try:
        paths = write_reports(scores, model, args.json, args.pictures,
                              str(used.absolute()), args.suffix)
    except OSError as error:  # each file is replaced whole, or kept
        print(f"moevae evaluate: failed: cannot write {args.json} and its "
              f"pictures in {args.pictures}: {error.strerror or error}",
              file=sys.stderr)
        return 1
    print(f"{used}{describe_choice(args.checkpoint, used)}: scored on all "
          f"{len(labels):,} images of {args.datasetdir} (training and "
          "held-out rows alike; the board's 'clustering (held-out)' scores "
          f"a run's held-out rows only)\n{report(scores)}")
    print("written: " + ", ".join(str(path) for path in paths))
    return 0
