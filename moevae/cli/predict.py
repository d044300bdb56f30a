"""``moevae predict CHECKPOINT INPUT``: each image's expert, by the manager.

INPUT is an .npy array, an IDX file (gzip or raw) or a folder of PNG
images (MNIST-like: white on black, the model's size). The CSV has one row
per image: ``image`` (its row number, or its file name for PNGs),
``expert`` (the manager's most probable expert) and ``p_0`` ... ``p_<K-1>``
(the manager's probabilities).
Exit status: 0 done, 2 bad input, 1 an output that cannot be written.
"""
import sys
from pathlib import Path
from typing import List, Optional

import numpy as np
import pandas as pd
import torch

from ..datasets.images import KINDS, read_images
from ..training.loading import model_input_dim
from ..clustering.scores import manager_probabilities
from .checkpoints import model_parser, parsed_device
from ..training.loading import describe_choice, load_trained_model
from .outputs import atomic_outputs, check_output, run_reporting_errors

PROG = "moevae predict"


def parse(argv: List[str]):
    parser = model_parser(PROG, __doc__.splitlines()[0],
                          "CSV columns: image (row number or PNG file "
                          "name), expert (the most probable), p_0 ... "
                          "p_<K-1> (the manager's probabilities).")
    parser.add_argument("input", type=Path, help=KINDS)
    parser.add_argument("--out", type=Path,
                        default=Path("predictions.csv"),
                        help="the CSV file (default %(default)s)")
    args = parser.parse_args(argv)
    args.device = parsed_device(parser, args)
    return args


def predictions_table(names: List[str], probabilities: np.ndarray
                      ) -> pd.DataFrame:
    """image, expert (argmax) and p_0 ... p_<K-1> columns, one row each."""
    table = pd.DataFrame({"image": names,
                          "expert": probabilities.argmax(axis=1)})
    for k in range(probabilities.shape[1]):
        table[f"p_{k}"] = probabilities[:, k]
    return table


def write_csv(table: pd.DataFrame, path: Path) -> None:
    text = table.to_csv(index=False, float_format="%.6g")
    with atomic_outputs("--out", [path]) as (handle,):
        handle.write(text.encode())


def run(args) -> None:
    check_output("--out", args.out, inputs=[args.input])
    checkpoint, model = load_trained_model(args.checkpoint, args.device,
                                           fold=args.fold)
    names, images = read_images(args.input, model_input_dim(model))
    probabilities = manager_probabilities(model, torch.from_numpy(images))
    table = predictions_table(names, probabilities)
    write_csv(table, args.out)
    shares = np.bincount(table["expert"], minlength=probabilities.shape[1]
                         ) / len(table)
    used = f"{checkpoint}{describe_choice(args.checkpoint, checkpoint)}"
    print(f"{used}: {len(table)} image(s) of {args.input}, on "
          f"{args.device.type}\nshare per expert: " +
          " ".join(f"{share:.1%}" for share in shares))
    print(f"written: {args.out}")


def main(argv: Optional[List[str]] = None) -> int:
    args = parse(sys.argv[1:] if argv is None else argv)
    return run_reporting_errors(PROG, lambda: run(args))
