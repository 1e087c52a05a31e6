"""Read and validate IDX files, the format Fashion-MNIST ships in.

An IDX file starts with two zero bytes, a type byte (0x08 for unsigned bytes), the number of
dimensions, then one big-endian 32-bit size per dimension, then the data in C order.
"""

import gzip
import zlib
from pathlib import Path

import numpy as np
import torch

from fmnist.errors import DataError

UNSIGNED_BYTE = 0x08
IMAGE_SIZE = 28
NUM_LABELS = 10


def read_idx_bytes(path: Path) -> bytes:
    """Return the raw content of an IDX file, unpacking it when the name ends in ``.gz``."""
    try:
        if path.suffix == ".gz":
            with gzip.open(path, "rb") as stream:
                return stream.read()
        return path.read_bytes()
    except (OSError, EOFError, zlib.error) as error:
        raise DataError(
            f"Cannot read {path}: {error}. Delete the file and fetch the data set again."
        ) from None


def parse_idx(path: Path, content: bytes, ndim: int) -> np.ndarray:
    """Check the IDX header against ``ndim`` and return the array it describes."""
    header_size = 4 + 4 * ndim
    if len(content) < header_size:
        raise DataError(
            f"Invalid IDX file {path}: {len(content)} bytes is shorter than its "
            f"{header_size}-byte header. The file is empty or truncated; fetch it again."
        )

    magic = content[:4]
    if magic[0] != 0 or magic[1] != 0 or magic[2] != UNSIGNED_BYTE or magic[3] != ndim:
        expected = f"00 00 08 {ndim:02x}"
        raise DataError(
            f"Invalid IDX file {path}: magic number {magic.hex(' ')} is not {expected} "
            f"(unsigned bytes, {ndim} dimensions). Check that the file is the one its name says."
        )

    shape = tuple(
        int.from_bytes(content[4 + 4 * axis : 8 + 4 * axis], "big") for axis in range(ndim)
    )
    expected_bytes = int(np.prod(shape, dtype=np.int64))
    payload = len(content) - header_size
    if payload != expected_bytes:
        state = "truncated" if payload < expected_bytes else "longer than its header says"
        raise DataError(
            f"Invalid IDX file {path}: the header declares shape {shape} ({expected_bytes} bytes) "
            f"but {payload} bytes follow, so the file is {state}. Fetch it again."
        )
    return np.frombuffer(content, dtype=np.uint8, offset=header_size).reshape(shape)


def read_images(path: Path, expected_count: int | None = None) -> torch.Tensor:
    """Read an image file as a ``(N, 1, 28, 28)`` uint8 tensor."""
    array = parse_idx(path, read_idx_bytes(path), ndim=3)
    if array.shape[1:] != (IMAGE_SIZE, IMAGE_SIZE):
        raise DataError(
            f"Invalid image file {path}: images are {array.shape[1]}x{array.shape[2]}, "
            f"expected {IMAGE_SIZE}x{IMAGE_SIZE}. Use the Fashion-MNIST files."
        )
    check_count(path, len(array), expected_count)
    return torch.from_numpy(array.copy()).unsqueeze(1)


def read_labels(path: Path, expected_count: int | None = None) -> torch.Tensor:
    """Read a label file as an int64 tensor of class indices 0-9."""
    array = parse_idx(path, read_idx_bytes(path), ndim=1)
    check_count(path, len(array), expected_count)
    if len(array) and int(array.max()) >= NUM_LABELS:
        bad = int(np.argmax(array >= NUM_LABELS))
        raise DataError(
            f"Invalid label file {path}: item {bad} has label {int(array[bad])}, "
            f"expected 0-{NUM_LABELS - 1}. Use the Fashion-MNIST files."
        )
    return torch.from_numpy(array.astype(np.int64))


def check_count(path: Path, count: int, expected_count: int | None) -> None:
    if expected_count is not None and count != expected_count:
        raise DataError(
            f"Invalid IDX file {path}: it contains {count} items, expected {expected_count}. "
            "Use the complete Fashion-MNIST files, or set data.train_size/data.test_size "
            "to null for a data set of another size."
        )


def read_split(
    images_path: Path, labels_path: Path, expected_count: int | None = None
) -> tuple[torch.Tensor, torch.Tensor]:
    """Read matching image and label files and check that their counts agree."""
    images = read_images(images_path, expected_count)
    labels = read_labels(labels_path, expected_count)
    if len(images) != len(labels):
        raise DataError(
            f"{images_path} contains {len(images)} images but {labels_path} contains "
            f"{len(labels)} labels. Use files from the same release of the data set."
        )
    return images, labels
