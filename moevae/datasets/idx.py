"""Readers for the IDX files MNIST ships in, gzip-compressed or raw.

The format: two zero bytes, a type code (0x08 = unsigned byte), the number
of dimensions, one big-endian uint32 per dimension, then the data.
"""
import gzip
import zlib
from pathlib import Path
from typing import Optional, Tuple

import numpy as np

from ..errors import DataError
from ..fileio import atomic_save

GZIP_MAGIC = b"\x1f\x8b"
UBYTE = 0x08


def read_idx(path: Path, ndim: Optional[int] = None) -> np.ndarray:
    """Read an IDX file of unsigned bytes into a uint8 array.

    Parameters
    ----------
    path: the file, gzip-compressed (detected by its magic bytes) or raw.
    ndim: the number of dimensions expected (3 for images, 1 for labels).

    Raises
    ------
    DataError: the file is truncated, corrupt or of another kind.
    """
    payload = _read_bytes(Path(path))
    shape, offset = _parse_header(path, payload, ndim)
    expected = int(np.prod(shape)) + offset
    if len(payload) != expected:
        raise DataError(
            f"{path}: {len(payload)} bytes, expected {expected} for an IDX "
            f"array of shape {shape} (truncated or corrupt file)")
    return np.frombuffer(payload, dtype=np.uint8, offset=offset).reshape(
        shape).copy()


def _read_bytes(path: Path) -> bytes:
    try:
        with open(path, "rb") as handle:
            payload = handle.read()
    except OSError as error:
        raise DataError(f"{path}: cannot read ({error.strerror})") from None
    if not payload.startswith(GZIP_MAGIC):
        return payload
    try:
        return gzip.decompress(payload)
    except (EOFError, OSError, zlib.error) as error:
        raise DataError(
            f"{path}: corrupt or truncated gzip data ({error})") from None


def _parse_header(path: Path, payload: bytes,
                  ndim: Optional[int]) -> Tuple[Tuple[int, ...], int]:
    if len(payload) < 4 or payload[:2] != b"\x00\x00":
        raise DataError(f"{path}: not an IDX file (bad magic number)")
    dtype_code, dims = payload[2], payload[3]
    if dtype_code != UBYTE:
        raise DataError(
            f"{path}: IDX type code {dtype_code:#04x}, expected 0x08 "
            "(unsigned bytes)")
    if ndim is not None and dims != ndim:
        raise DataError(f"{path}: {dims} dimensions, expected {ndim}")
    offset = 4 + 4 * dims
    if len(payload) < offset:
        raise DataError(f"{path}: truncated IDX header")
    shape = tuple(int.from_bytes(payload[4 + 4 * i:8 + 4 * i], "big")
                  for i in range(dims))
    return shape, offset


def write_idx(path: Path, array: np.ndarray, compress: bool = True) -> None:
    """Write a uint8 array as an IDX file (used for the shipped sample)."""
    array = np.ascontiguousarray(array, dtype=np.uint8)
    header = bytes([0, 0, UBYTE, array.ndim]) + b"".join(
        int(size).to_bytes(4, "big") for size in array.shape)
    payload = header + array.tobytes()
    if compress:
        payload = gzip.compress(payload, compresslevel=9, mtime=0)
    atomic_save(path, lambda handle: handle.write(payload))
