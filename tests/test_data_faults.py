"""Wrong data sets are detected, and interrupted downloads leave no broken copy behind."""

import gzip
from pathlib import Path

import numpy as np
import pytest
import torchvision.datasets

from fmnist import sources
from fmnist.data_check import check_fashion_mnist
from fmnist.datamodule import FashionMNISTDataModule
from fmnist.errors import DataError
from fmnist.idx import read_split

from conftest import REAL_DATA_DIR, write_dataset, write_idx

TEST_COUNT = 10000
# Class sizes of the digit MNIST test split: not balanced like Fashion-MNIST's.
DIGIT_TEST_COUNTS = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]


def balanced_labels(count: int) -> np.ndarray:
    return (np.arange(count) % 10).astype(np.uint8)


def digit_like_images(count: int, seed: int = 0) -> np.ndarray:
    """Thin bright strokes on black: about 19% nonzero pixels and a mean near 0.13."""
    rng = np.random.default_rng(seed)
    strokes = rng.random((count, 28, 28)) < 0.19
    return np.where(strokes, rng.integers(150, 256, size=strokes.shape), 0).astype(np.uint8)


def clothing_like_images(count: int, seed: int = 0) -> np.ndarray:
    """Half the pixels lit with mid grey values: a mean near 0.286, like Fashion-MNIST."""
    rng = np.random.default_rng(seed)
    lit = rng.random((count, 28, 28)) < 0.5
    return np.where(lit, rng.integers(60, 232, size=lit.shape), 0).astype(np.uint8)


def write_test_split(folder: Path, images: np.ndarray, labels: np.ndarray) -> tuple[Path, Path]:
    folder.mkdir(parents=True, exist_ok=True)
    images_path = write_idx(folder / "t10k-images-idx3-ubyte", images)
    labels_path = write_idx(folder / "t10k-labels-idx1-ubyte", labels)
    return images_path, labels_path


def check_files(images_path: Path, labels_path: Path) -> None:
    images, labels = read_split(images_path, labels_path)
    check_fashion_mnist("test", images, labels, images_path, labels_path)


def test_statistics_reject_digit_images(tmp_path: Path) -> None:
    paths = write_test_split(tmp_path, digit_like_images(TEST_COUNT), balanced_labels(TEST_COUNT))
    with pytest.raises(DataError) as raised:
        check_files(*paths)
    message = str(raised.value)
    assert message.startswith(f"{paths[0]} does not look like Fashion-MNIST")
    assert "data.check_statistics=false" in message


def test_statistics_reject_digit_labels(tmp_path: Path) -> None:
    labels = np.repeat(np.arange(10, dtype=np.uint8), DIGIT_TEST_COUNTS)
    paths = write_test_split(tmp_path, clothing_like_images(TEST_COUNT), labels)
    with pytest.raises(DataError) as raised:
        check_files(*paths)
    assert str(raised.value).startswith(f"{paths[1]} does not look like Fashion-MNIST: class 0")


def test_statistics_accept_clothing_like(tmp_path: Path) -> None:
    check_files(
        *write_test_split(tmp_path, clothing_like_images(TEST_COUNT), balanced_labels(TEST_COUNT))
    )


def test_statistics_skip_other_sizes(tmp_path: Path) -> None:
    check_files(*write_test_split(tmp_path, digit_like_images(500), balanced_labels(500)))


@pytest.mark.skipif(not REAL_DATA_DIR.is_dir(), reason="the real data set is not installed")
@pytest.mark.parametrize("split", ["train", "test"])
def test_statistics_accept_real_data(split: str) -> None:
    found = sources.find_files(REAL_DATA_DIR)
    assert found is not None
    images_stem, labels_stem = sources.SPLIT_FILES[split]
    images, labels = read_split(found[images_stem], found[labels_stem])
    check_fashion_mnist(split, images, labels, found[images_stem], found[labels_stem])


def digit_folder(tmp_path: Path) -> Path:
    """Tiny synthetic training files next to an official-size digit-like test split."""
    folder = write_dataset(tmp_path / "data")
    labels = np.repeat(np.arange(10, dtype=np.uint8), DIGIT_TEST_COUNTS)
    write_test_split(folder, digit_like_images(TEST_COUNT), labels)
    return folder


def test_datamodule_rejects_digit_split(tmp_path: Path) -> None:
    datamodule = FashionMNISTDataModule(str(digit_folder(tmp_path)), system_dirs=[])
    with pytest.raises(DataError, match="does not look like Fashion-MNIST"):
        datamodule.setup("test")


def test_datamodule_switch_allows_other_data(tmp_path: Path) -> None:
    datamodule = FashionMNISTDataModule(
        str(digit_folder(tmp_path)), system_dirs=[], check_statistics=False
    )
    datamodule.setup("test")
    assert len(datamodule.data_test) == TEST_COUNT


def test_datamodule_rejects_batch_over_split(tiny_data_dir: Path) -> None:
    datamodule = FashionMNISTDataModule(
        str(tiny_data_dir), system_dirs=[], train_size=None, val_size=100, batch_size=501
    )
    with pytest.raises(DataError, match="the training split has only 500 images"):
        datamodule.setup("fit")


def fake_torchvision_class(
    source: Path, fail_after: int | None = None, error: BaseException | None = None
) -> type:
    """Return a stand-in for torchvision's FashionMNIST that writes raw files as it does.

    With ``fail_after`` set, that many files are written completely, the next one is cut
    short, and ``error`` is raised, as when a download is interrupted partway through.
    """

    class FakeFashionMNIST:
        def __init__(self, root: str, train: bool, download: bool) -> None:
            raw = Path(root) / "FashionMNIST" / "raw"
            raw.mkdir(parents=True, exist_ok=True)
            split = "train" if train else "test"
            for index, stem in enumerate(sources.SPLIT_FILES[split]):
                content = (source / stem).read_bytes()
                if fail_after is not None and index >= fail_after:
                    (raw / stem).write_bytes(content[: len(content) // 2])
                    raise error
                (raw / stem).write_bytes(content)

    return FakeFashionMNIST


@pytest.fixture
def plain_dataset(tmp_path: Path) -> Path:
    """Uncompressed tiny IDX files, as torchvision leaves them after unpacking."""
    folder = write_dataset(tmp_path / "source")
    for stem in sources.FILE_STEMS:
        path = sources.find_file(folder, stem)
        if path.suffix == ".gz":
            (folder / stem).write_bytes(gzip.decompress(path.read_bytes()))
            path.unlink()
    return folder


def leftovers(data_dir: Path) -> list[str]:
    return sorted(str(path.relative_to(data_dir)) for path in data_dir.rglob("*") if path.is_file())


@pytest.mark.parametrize("error", [KeyboardInterrupt(), OSError("connection reset")])
def test_download_interrupted_leaves_nothing(
    tmp_path: Path, plain_dataset: Path, monkeypatch: pytest.MonkeyPatch, error: BaseException
) -> None:
    data_dir = tmp_path / "data"
    fake = fake_torchvision_class(plain_dataset, fail_after=1, error=error)
    monkeypatch.setattr(torchvision.datasets, "FashionMNIST", fake)

    if isinstance(error, KeyboardInterrupt):
        with pytest.raises(KeyboardInterrupt):
            sources.locate(data_dir, system_dirs=[], allow_download=True)
    else:
        with pytest.raises(DataError, match="download failed \\(OSError: connection reset\\)"):
            sources.locate(data_dir, system_dirs=[], allow_download=True)
    assert leftovers(data_dir) == []


def test_download_complete_is_moved(
    tmp_path: Path, plain_dataset: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data_dir = tmp_path / "data"
    fake = fake_torchvision_class(plain_dataset)
    monkeypatch.setattr(torchvision.datasets, "FashionMNIST", fake)

    found = sources.locate(data_dir, system_dirs=[], allow_download=True)
    raw = data_dir / "FashionMNIST" / "raw"
    assert sorted(found) == sorted(sources.FILE_STEMS)
    assert all(path.parent == raw for path in found.values())
    assert leftovers(data_dir) == sorted(f"FashionMNIST/raw/{stem}" for stem in sources.FILE_STEMS)


def test_download_rejects_truncated_result(
    tmp_path: Path, plain_dataset: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A file torchvision leaves short (e.g. a disk filling up) is never published."""
    labels = plain_dataset / "t10k-labels-idx1-ubyte"
    labels.write_bytes(labels.read_bytes()[:-10])
    data_dir = tmp_path / "data"
    fake = fake_torchvision_class(plain_dataset)
    monkeypatch.setattr(torchvision.datasets, "FashionMNIST", fake)

    with pytest.raises(DataError, match="download failed \\(DataError: Invalid IDX file"):
        sources.locate(data_dir, system_dirs=[], allow_download=True)
    assert leftovers(data_dir) == []
