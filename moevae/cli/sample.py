"""``moevae sample CHECKPOINT``: new images from each expert's decoder.

Draws z ~ N(0, I) and decodes it with every expert (or only --expert K),
and writes the pixel means as one PNG grid: a row per expert, or a
near-square for one expert. With --npy, the float32 images also go to the
PNG's name with .npy, shape (experts, count, side, side).
Exit status: 0 done, 2 bad input, 1 an output that cannot be written.
"""
import sys
from pathlib import Path
from typing import List, Optional

import numpy as np

from .parsing import integer_in_range
from ..datasets.images import image_side
from ..clustering.generation import MAX_COUNT, decode_samples, sample_grid
from .checkpoints import model_parser, parsed_device
from ..training.loading import describe_choice, load_trained_model
from .outputs import atomic_outputs, check_output, run_reporting_errors

PROG = "moevae sample"


def parse(argv: List[str]):
    parser = model_parser(PROG, __doc__.splitlines()[0],
                          "The grid has a row per expert (a near-square "
                          "for --expert K); --npy writes OUT.npy, float32 "
                          "(experts, N, side, side).")
    parser.add_argument("--expert", type=integer_in_range(0), metavar="K",
                        help="draw from expert K only (default: every "
                        "expert)")
    parser.add_argument("--count", type=integer_in_range(1, MAX_COUNT),
                        default=8, metavar="N", help="images per expert, "
                        f"1-{MAX_COUNT} (default %(default)s)")
    parser.add_argument("--seed", type=integer_in_range(0), default=0,
                        help="seed of the z draws; the same seed gives the "
                        "same images (default %(default)s)")
    parser.add_argument("--out", type=Path, default=Path("samples.png"),
                        help="the PNG grid (default %(default)s)")
    parser.add_argument("--npy", action="store_true", help="also write the "
                        "images as float32 .npy next to the PNG")
    args = parser.parse_args(argv)
    args.device = parsed_device(parser, args)
    return args


def write_outputs(grid: np.ndarray, images: Optional[np.ndarray],
                  png: Path) -> List[Path]:
    """The PNG (and .npy) atomically: both, or neither if one fails."""
    from PIL import Image
    paths = [png] if images is None else [png, png.with_suffix(".npy")]
    with atomic_outputs("--out", paths) as handles:
        Image.fromarray(grid).save(handles[0], format="PNG")
        if images is not None:
            np.save(handles[1], images, allow_pickle=False)
    return paths


def run(args) -> None:
    check_output("--out", args.out, ".png", inputs=[args.checkpoint])
    if args.npy:
        check_output("--out", args.out.with_suffix(".npy"),
                     inputs=[args.checkpoint])
    checkpoint, model = load_trained_model(args.checkpoint, args.device,
                                           fold=args.fold)
    experts = None if args.expert is None else [args.expert]
    samples = decode_samples(model, args.count, experts, args.seed)
    side = image_side(samples.shape[2])
    grid = sample_grid(samples)
    images = samples.reshape(*samples.shape[:2], side, side) if args.npy \
        else None
    paths = write_outputs(grid, images, args.out)
    which = f"expert {args.expert}" if experts else \
        f"each of {samples.shape[0]} experts"
    used = f"{checkpoint}{describe_choice(args.checkpoint, checkpoint)}"
    print(f"{used}: {args.count} image(s) from {which}, seed "
          f"{args.seed}, on {args.device.type}")
    print("written: " + ", ".join(str(path) for path in paths))


def main(argv: Optional[List[str]] = None) -> int:
    args = parse(sys.argv[1:] if argv is None else argv)
    return run_reporting_errors(PROG, lambda: run(args))
