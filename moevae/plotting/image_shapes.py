"""The (channels, height, width) of the images an image panel draws.

A panel gets images flattened (the seed's models) or not. Their shape comes
from, in order: an explicit ``image_shape=``; the shape of unflattened
tensors; or an inference from the number of values per image that has one
answer: a square of grey pixels (784 -> 1 x 28 x 28, the seed's MNIST) or
three times a square (colour, 2352 -> 3 x 28 x 28; no number is both).
"""
import logging
import math
from typing import Any, Optional, Sequence, Tuple

from ..errors import bad_value

logger = logging.getLogger("moevae")
ImageShape = Tuple[int, int, int]
CHANNELS = (1, 3)
EXPECTED = "(height, width) or (channels, height, width), channels 1 or 3"


def check_image_shape(image_shape: Any) -> Optional[ImageShape]:
    """``image_shape`` as (C, H, W), None if None; one line if malformed.

    Raises MoEVAEValueError for anything but 2 or 3 positive integers with
    1 or 3 channels.
    """
    if image_shape is None:
        return None
    try:
        sizes = tuple(image_shape)
    except TypeError:
        raise bad_value("image_shape", image_shape, EXPECTED) from None
    if len(sizes) == 2:
        sizes = (1, *sizes)
    if len(sizes) != 3 or not all(
            isinstance(size, int) and not isinstance(size, bool) and size > 0
            for size in sizes) or sizes[0] not in CHANNELS:
        raise bad_value("image_shape", image_shape, EXPECTED)
    return (sizes[0], sizes[1], sizes[2])


def infer_image_shape(size: int) -> Optional[ImageShape]:
    """(1, s, s) if ``size`` = s * s, (3, s, s) if 3 * s * s, else None."""
    for channels in CHANNELS:
        side = math.isqrt(size // channels)
        if size > 0 and channels * side * side == size:
            return (channels, side, side)
    return None


def resolve_image_shape(explicit: Optional[ImageShape],
                        sample_shape: Sequence[int]) -> Tuple[
                            Optional[ImageShape], str]:
    """(the shape to draw with, "") or (None, why not, one line).

    ``sample_shape`` is one image's shape as the model gives it: (D,)
    flattened, (H, W) or (C, H, W).
    """
    size = math.prod(sample_shape)
    if explicit is not None:
        if math.prod(explicit) == size:
            return explicit, ""
        return None, (f"image_shape={explicit} holds {math.prod(explicit)} "
                      f"values but the images have {size}")
    if len(sample_shape) == 2:
        return (1, *sample_shape), ""  # type: ignore[return-value]
    if len(sample_shape) == 3 and sample_shape[0] in CHANNELS:
        return tuple(sample_shape), ""  # type: ignore[return-value]
    inferred = infer_image_shape(size)
    if inferred is not None:
        return inferred, ""
    return None, (f"cannot tell the image shape of images of {size} values "
                  f"(shape {tuple(sample_shape)})")


def warn_not_drawn(panel: str, why: str) -> None:
    """The one warning line of a panel that cannot draw its images."""
    logger.warning("board: %s not drawn: %s; expected image_shape= %s "
                   "whose product is the number of values per image",
                   panel, why, EXPECTED)
