"""New images from a trained mixture: each expert decodes z ~ N(0, I).

"The model can be used to generate new samples" (the pynet example): an
expert's decoder maps a draw of its prior, z ~ N(0, I), to pixel means in
(0, 1); those means are the images (no Bernoulli noise is added).
"""
import math
from typing import Optional, Sequence

import numpy as np
import torch

from ..datasets.images import image_side
from ..errors import bad_value, check_positive_int
from ..models import experts_of, latent_dim_of
from .choices import MAX_COUNT

GRID_PADDING = 2
GRID_PAD_VALUE = 0.5


def expert_count(model: torch.nn.Module) -> int:
    return len(experts_of(model))


def check_experts(model: torch.nn.Module, experts: Sequence[int]) -> None:
    """Raise MoEVAEValueError naming an expert index the model lacks."""
    count = expert_count(model)
    for k in experts:
        if (isinstance(k, bool) or not isinstance(k, int) or
                not 0 <= k < count):
            raise bad_value("expert", k, f"an expert index 0-{count - 1} "
                            f"(the model has {count} experts)")


@torch.no_grad()
def decode_samples(model: torch.nn.Module, count: int,
                   experts: Optional[Sequence[int]] = None, seed: int = 0
                   ) -> np.ndarray:
    """``count`` new images per expert, float32 ``(E, count, D)`` in [0, 1].

    ``experts``: indices of the experts to draw from (default all, E = K).
    The codes are drawn for every expert on the CPU from ``seed`` whatever
    ``experts`` and the model's device, so expert k's images are the same
    alone or with the others, on a CPU or a GPU (up to float rounding).

    Raises MoEVAEValueError / MoEVAETypeError: an expert index out of range,
    ``count`` not in 1-MAX_COUNT, ``seed`` negative.
    """
    experts = list(range(expert_count(model)) if experts is None
                   else experts)
    check_experts(model, experts)
    check_positive_int("count", count)
    if count > MAX_COUNT:
        raise bad_value("count", count, f"at most {MAX_COUNT} images per "
                        "expert")
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise bad_value("seed", seed, "an integer >= 0")
    generator = torch.Generator().manual_seed(seed)
    codes = torch.randn(expert_count(model), count, latent_dim_of(model),
                        generator=generator)
    device = next(model.parameters()).device
    views = experts_of(model)
    decoded = [views[k].decoder(codes[k].to(device)).float().cpu()
               for k in experts]
    return torch.stack(decoded).numpy()


def grid_columns(experts: int, count: int) -> int:
    """One row per expert; a single expert's images in a near-square."""
    return math.ceil(math.sqrt(count)) if experts == 1 else count


def sample_grid(samples: np.ndarray) -> np.ndarray:
    """``(E, N, D)`` images in [0, 1] -> one uint8 grayscale grid ``(H, W)``.

    Cells of side s = sqrt(D) are separated and framed by GRID_PADDING grey
    pixels (torchvision's ``make_grid``): with c = grid_columns(E, N)
    columns and r = ceil(E * N / c) rows, the grid is
    ``(r * (s + 2) + 2, c * (s + 2) + 2)`` pixels.
    """
    from torchvision.utils import make_grid
    experts, count, pixels = samples.shape
    side = image_side(pixels)
    images = torch.from_numpy(np.ascontiguousarray(samples, np.float32))
    grid = make_grid(images.reshape(experts * count, 1, side, side),
                     nrow=grid_columns(experts, count), padding=GRID_PADDING,
                     pad_value=GRID_PAD_VALUE)[0]
    if experts * count == 1:  # make_grid returns a lone image unframed
        grid = torch.nn.functional.pad(grid, [GRID_PADDING] * 4,
                                       value=GRID_PAD_VALUE)
    return grid.mul(255).add(0.5).clamp(0, 255).to(torch.uint8).numpy()
