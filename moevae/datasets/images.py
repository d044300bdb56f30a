"""Images to classify: an .npy array, an IDX file or a folder of PNG images.

The kind is told by the content, not the name: a folder holds PNG files;
a file starting with NumPy's magic string is an .npy array, one starting
with the IDX header or gzip's magic bytes an IDX file. Images are
MNIST-like: white strokes on black, ``side x side`` pixels.
"""
import math
from pathlib import Path
from typing import List, Tuple

import numpy as np

from ..errors import DataError
from .defaults import KINDS
from .idx import GZIP_MAGIC, read_idx

NPY_MAGIC = b"\x93NUMPY"
IDX_MAGIC = b"\x00\x00"
PNG_MODES = ("1", "L", "LA", "P", "PA", "RGB", "RGBA")


def read_images(path: Path, pixels: int) -> Tuple[List[str], np.ndarray]:
    """(a name per image, float32 images (N, pixels) in [0, 1]).

    Names are file names for a PNG folder, row numbers for an array.
    Accepted shapes, with s = sqrt(pixels): (N, pixels), (N, s, s),
    (N, 1, s, s), or one image (pixels,) or (s, s). Values: uint8 (or any
    integers) 0-255, booleans, or floats in [0, 1].

    Raises DataError: a missing, unreadable or unknown file, a PNG of
    another size, a wrong shape, values out of range, no image at all.
    """
    path = Path(path)
    if path.is_dir():
        names, array = read_png_folder(path, pixels)
        return names, model_inputs(path, array, pixels)
    head = read_head(path)
    if head.startswith(NPY_MAGIC):
        array = read_npy(path)
    elif head.startswith(IDX_MAGIC) or head.startswith(GZIP_MAGIC):
        array = read_idx(path)
    else:
        raise DataError(f"{path}: unknown file kind; expected {KINDS}")
    inputs = model_inputs(path, array, pixels)
    return [str(row) for row in range(len(inputs))], inputs


def read_head(path: Path) -> bytes:
    try:
        with open(path, "rb") as handle:
            return handle.read(len(NPY_MAGIC))
    except FileNotFoundError:
        raise DataError(f"{path}: no such file or folder; expected "
                        f"{KINDS}") from None
    except OSError as error:
        raise DataError(f"{path}: cannot read ({error.strerror})") from None


def read_npy(path: Path) -> np.ndarray:
    try:
        return np.load(path, allow_pickle=False)
    except (ValueError, OSError, EOFError) as error:
        reason = (str(error).splitlines()[0][:200] if str(error) else
            type(error).__name__)
        raise DataError(f"{path}: unreadable .npy array ({reason})") from None


def read_png_folder(folder: Path, pixels: int
                    ) -> Tuple[List[str], np.ndarray]:
    """(file names, uint8 (N, s, s)) of the folder's *.png, sorted by name."""
    from PIL import Image
    try:
        files = sorted(path for path in folder.iterdir()
                       if path.suffix.lower() == ".png" and path.is_file())
    except OSError as error:
        raise DataError(f"{folder}: cannot list ({error.strerror})") from None
    if not files:
        raise DataError(f"{folder}: no .png file in this folder; expected "
                        f"{KINDS}")
    side = image_side(pixels)
    images = []
    for path in files:
        try:
            with Image.open(path) as image:
                check_png(path, image, side)
                images.append(np.asarray(image.convert("L")))
        except DataError:
            raise
        except (OSError, ValueError, Image.DecompressionBombError) as error:
            raise DataError(f"{path}: unreadable PNG image "
                            f"({str(error)[:200]})") from None
    return [path.name for path in files], np.stack(images)


def check_png(path: Path, image, side: int) -> None:
    if image.format != "PNG":
        raise DataError(f"{path}: a {image.format} image, expected a PNG")
    if image.mode not in PNG_MODES:
        raise DataError(f"{path}: PNG mode {image.mode}, expected 8-bit "
                        "grayscale or colour")
    if image.size != (side, side):
        width, height = image.size
        raise DataError(f"{path}: {width}x{height} pixels, expected "
                        f"{side}x{side} like the model's images")


def image_side(pixels: int) -> int:
    """The side of a square image of ``pixels`` values; DataError if none."""
    side = math.isqrt(pixels)
    if side * side != pixels:
        raise DataError(f"the model's images have {pixels} values, not a "
                        "square number of pixels: they cannot be pictures")
    return side


def model_inputs(source: Path, array: np.ndarray, pixels: int) -> np.ndarray:
    """``array`` as float32 (N, pixels) in [0, 1]; DataError if it cannot."""
    side = math.isqrt(pixels)
    images = [(pixels,)] + ([(side, side), (1, side, side)]
                            if side * side == pixels else [])
    shape = tuple(array.shape)
    if shape in images[:2]:
        array, shape = array.reshape(1, pixels), (1, pixels)
    if len(shape) < 2 or shape[1:] not in images:
        expected = ", ".join(str((None,) + image).replace("None", "N")
                             for image in images)
        raise DataError(f"{source}: images of shape {shape}, expected "
                        f"{expected}")
    if shape[0] == 0:
        raise DataError(f"{source}: no image in it (shape {shape})")
    return scaled(source, np.asarray(array).reshape(shape[0], pixels))


def scaled(source: Path, array: np.ndarray) -> np.ndarray:
    """Integers 0-255 / 255, booleans as 0/1, floats kept if in [0, 1]."""
    kind = array.dtype.kind
    if kind == "b":
        return array.astype(np.float32)
    if kind in "iu":
        low, high = int(array.min()), int(array.max())
        if low < 0 or high > 255:
            raise DataError(f"{source}: {array.dtype} values from {low} to "
                            f"{high}, expected 0-255")
        return array.astype(np.float32) / np.float32(255)
    if kind != "f":
        raise DataError(f"{source}: values of dtype {array.dtype}, expected "
                        "uint8 0-255 or floats in [0, 1]")
    if not np.isfinite(array).all():
        raise DataError(f"{source}: NaN or infinite values, expected floats "
                        "in [0, 1]")
    lowest, highest = float(array.min()), float(array.max())
    if lowest < 0 or highest > 1:
        hint = " (divide by 255?)" if highest <= 255 and lowest >= 0 else ""
        raise DataError(f"{source}: values from {lowest:g} to {highest:g}, "
                        f"expected floats in [0, 1]{hint}")
    return array.astype(np.float32)
