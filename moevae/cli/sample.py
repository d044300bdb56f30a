"""``moevae sample CHECKPOINT``: new images from each expert's decoder.

Draws z ~ N(0, I) and decodes it with every expert (or only --expert K),
and writes the pixel means as one PNG grid: a row per expert, labelled
"expert k" on its left, or a near-square for one expert under an "expert
K" title. With --npy, the float32 images (no labels) also go to the PNG's
name with .npy, shape (experts, count, side, side).
Exit status: 0 done, 2 bad input, 1 an output that cannot be written.
"""
import sys
from pathlib import Path
from typing import List, Optional, Sequence

from ..clustering.choices import MAX_COUNT
from ..errors import MoEVAEError
from ..training.names import describe_choice, find_checkpoint
from .checkpoints import model_parser
from .outputs import check_output, run_reporting_errors
from .parsing import integer_in_range

LABEL_WIDTH = 52  # px left of each row: "expert 10" in PIL's default font
TITLE_HEIGHT = 16  # px above a single expert's square
FLAGS = {"expert": "--expert", "experts": "--expert", "count": "--count",
         "seed": "--seed"}

PROG = "moevae sample"
GRID = ("The grid has a row per expert, labelled on its left (a "
        "near-square under its title for --expert K); --npy writes "
        "OUT.npy, float32 (experts, N, side, side).")


def parse(argv: List[str]):
    parser = model_parser(PROG, __doc__.splitlines()[0], GRID)
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
    try:  # every check that needs no model, before torch is imported
        find_checkpoint(args.checkpoint, args.fold)
        check_output("--out", args.out, ".png", inputs=[args.checkpoint])
        if args.npy:
            check_output("--out", args.out.with_suffix(".npy"),
                         inputs=[args.checkpoint])
    except MoEVAEError as error:
        parser.error(str(error))
    return args


def labelled_grid(grid, experts: Sequence[int], side: int):
    """The grid with "expert k" left of each row (several experts), or
    above the square (one expert): uint8 (H, W) -> uint8 (H', W')."""
    import numpy as np
    from PIL import Image, ImageDraw
    height, width = grid.shape
    if len(experts) == 1:
        canvas = Image.new("L", (width, height + TITLE_HEIGHT), 0)
        canvas.paste(Image.fromarray(grid), (0, TITLE_HEIGHT))
        ImageDraw.Draw(canvas).text((3, 2), f"expert {experts[0]}", fill=255)
        return np.asarray(canvas)
    canvas = Image.new("L", (width + LABEL_WIDTH, height), 0)
    canvas.paste(Image.fromarray(grid), (LABEL_WIDTH, 0))
    draw = ImageDraw.Draw(canvas)
    for row, expert in enumerate(experts):
        top = 2 + row * (side + 2) + side // 2 - 6
        draw.text((3, top), f"expert {expert}", fill=255)
    return np.asarray(canvas)


def write_outputs(grid, images, png: Path) -> List[Path]:
    """The PNG (and .npy) atomically: both, or neither if one fails."""
    import numpy as np
    from PIL import Image

    from .outputs import atomic_outputs
    paths = [png] if images is None else [png, png.with_suffix(".npy")]
    with atomic_outputs("--out", paths) as handles:
        Image.fromarray(grid).save(handles[0], format="PNG")
        if images is not None:
            np.save(handles[1], images, allow_pickle=False)
    return paths


def run(args) -> None:
    from ..clustering.generation import decode_samples, sample_grid
    from ..datasets.images import image_side
    from ..training.loading import load_trained_model
    from .checkpoints import checked_device
    device = checked_device(args.device)
    checkpoint, model = load_trained_model(args.checkpoint, device,
                                           fold=args.fold)
    experts = None if args.expert is None else [args.expert]
    samples = decode_samples(model, args.count, experts, args.seed)
    side = image_side(samples.shape[2])
    grid = labelled_grid(sample_grid(samples), experts or list(range(
        samples.shape[0])), side)
    images = (samples.reshape(*samples.shape[:2], side, side) if args.npy
              else None)
    paths = write_outputs(grid, images, args.out)
    which = (f"expert {args.expert}" if experts else
             f"each of {samples.shape[0]} experts")
    used = f"{checkpoint}{describe_choice(args.checkpoint, checkpoint)}"
    print(f"{used}: {args.count} image(s) from {which}, seed "
          f"{args.seed}, on {device.type}")
    print("written: " + ", ".join(str(path) for path in paths))


def main(argv: Optional[List[str]] = None) -> int:
    args = parse(sys.argv[1:] if argv is None else argv)
    return run_reporting_errors(PROG, lambda: run(args), FLAGS)
