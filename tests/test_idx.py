"""IDX reading and the errors a damaged or wrong file produces."""

import gzip
from pathlib import Path

import numpy as np
import pytest

from fmnist.errors import DataError
from fmnist.idx import read_images, read_labels, read_split

from conftest import idx_bytes, synthetic_split, write_idx


@pytest.fixture
def pair(tmp_path: Path) -> tuple[Path, Path]:
    images, labels = synthetic_split(20, seed=0)
    return (
        write_idx(tmp_path / "images-idx3-ubyte", images),
        write_idx(tmp_path / "labels-idx1-ubyte", labels),
    )


def test_read_split_shapes(pair: tuple[Path, Path]) -> None:
    images, labels = read_split(*pair, expected_count=20)
    assert images.shape == (20, 1, 28, 28)
    assert images.dtype.is_floating_point is False
    assert labels.shape == (20,)


def test_read_gzipped_equals_plain(tmp_path: Path) -> None:
    images, _ = synthetic_split(5, seed=0)
    plain = read_images(write_idx(tmp_path / "a", images))
    packed = read_images(write_idx(tmp_path / "b", images, compress=True))
    assert bool((plain == packed).all())


def test_truncated_file_names_file(pair: tuple[Path, Path]) -> None:
    images_path, _ = pair
    images_path.write_bytes(images_path.read_bytes()[:-100])
    with pytest.raises(DataError, match="truncated") as error:
        read_images(images_path)
    assert str(images_path) in str(error.value)


def test_empty_file_rejected(tmp_path: Path) -> None:
    empty = tmp_path / "empty-idx3-ubyte"
    empty.write_bytes(b"")
    with pytest.raises(DataError, match="empty or truncated"):
        read_images(empty)


def test_wrong_magic_rejected(pair: tuple[Path, Path]) -> None:
    images_path, labels_path = pair
    with pytest.raises(DataError, match="magic number 00 00 08 01"):
        read_images(labels_path)


def test_wrong_image_size_rejected(tmp_path: Path) -> None:
    path = write_idx(tmp_path / "small-idx3-ubyte", np.zeros((3, 14, 14), dtype=np.uint8))
    with pytest.raises(DataError, match="14x14, expected 28x28"):
        read_images(path)


def test_label_out_of_range_rejected(tmp_path: Path) -> None:
    path = write_idx(tmp_path / "labels-idx1-ubyte", np.array([0, 3, 12, 1], dtype=np.uint8))
    with pytest.raises(DataError, match="item 2 has label 12"):
        read_labels(path)


def test_count_mismatch_rejected(tmp_path: Path) -> None:
    images, labels = synthetic_split(20, seed=0)
    images_path = write_idx(tmp_path / "images-idx3-ubyte", images)
    labels_path = write_idx(tmp_path / "labels-idx1-ubyte", labels[:15])
    with pytest.raises(DataError, match="20 images but .* 15 labels"):
        read_split(images_path, labels_path)


def test_unexpected_count_rejected(pair: tuple[Path, Path]) -> None:
    with pytest.raises(DataError, match="contains 20 items, expected 60000"):
        read_split(*pair, expected_count=60000)


def test_corrupt_gzip_rejected(tmp_path: Path) -> None:
    images, _ = synthetic_split(5, seed=0)
    path = tmp_path / "images-idx3-ubyte.gz"
    path.write_bytes(gzip.compress(idx_bytes(images))[:40])
    with pytest.raises(DataError, match="Cannot read"):
        read_images(path)
