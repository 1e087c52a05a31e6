"""The datamodule's split, batches and data sources."""

from pathlib import Path

import pytest
import torch

from fmnist.datamodule import FashionMNISTDataModule
from fmnist.errors import DataError, UserInputError

from conftest import TINY_TEST, TINY_TRAIN, write_dataset


def make_datamodule(data_dir: Path, **overrides) -> FashionMNISTDataModule:
    settings = dict(
        data_dir=str(data_dir),
        system_dirs=[],
        val_size=100,
        batch_size=32,
        train_size=None,
        test_size=None,
    )
    settings.update(overrides)
    datamodule = FashionMNISTDataModule(**settings)
    datamodule.setup()
    return datamodule


def all_images(dataset) -> torch.Tensor:
    return torch.stack([dataset[index][0] for index in range(len(dataset))])


def test_split_sizes(tiny_data_dir: Path) -> None:
    datamodule = make_datamodule(tiny_data_dir)
    assert len(datamodule.data_train) == TINY_TRAIN - 100
    assert len(datamodule.data_val) == 100
    assert len(datamodule.data_test) == TINY_TEST


def test_split_fraction(tiny_data_dir: Path) -> None:
    datamodule = make_datamodule(tiny_data_dir, val_size=0.25)
    assert len(datamodule.data_val) == TINY_TRAIN // 4


def test_split_is_disjoint(tiny_data_dir: Path) -> None:
    datamodule = make_datamodule(tiny_data_dir)
    train_index, val_index = datamodule.split_indices(TINY_TRAIN)
    assert set(train_index.tolist()).isdisjoint(val_index.tolist())
    assert len(set(train_index.tolist()) | set(val_index.tolist())) == TINY_TRAIN


def test_split_is_seeded(tiny_data_dir: Path) -> None:
    first = make_datamodule(tiny_data_dir, split_seed=5)
    second = make_datamodule(tiny_data_dir, split_seed=5)
    other = make_datamodule(tiny_data_dir, split_seed=6)
    assert torch.equal(all_images(first.data_val), all_images(second.data_val))
    assert not torch.equal(all_images(first.data_val), all_images(other.data_val))


@pytest.mark.parametrize("val_size", [0, TINY_TRAIN, 1.0, -3])
def test_invalid_val_size_rejected(tiny_data_dir: Path, val_size) -> None:
    with pytest.raises(DataError, match="Invalid data.val_size"):
        make_datamodule(tiny_data_dir, val_size=val_size)


def test_unknown_pipeline_rejected(tiny_data_dir: Path) -> None:
    with pytest.raises(UserInputError, match="data.pipeline='pil'"):
        make_datamodule(tiny_data_dir, pipeline="pil")


def test_train_batches_are_whole_uint8_batches(tiny_data_dir: Path) -> None:
    datamodule = make_datamodule(tiny_data_dir)
    images, labels = next(iter(datamodule.train_dataloader()))
    assert images.shape == (32, 1, 28, 28)
    assert images.dtype == torch.uint8
    assert labels.dtype == torch.int64


def test_batch_transfer_scales_to_unit_range(tiny_data_dir: Path) -> None:
    datamodule = make_datamodule(tiny_data_dir)
    batch = next(iter(datamodule.val_dataloader()))
    images, _ = datamodule.on_after_batch_transfer(batch, 0)
    assert images.dtype == torch.float32
    assert float(images.min()) >= 0.0
    assert float(images.max()) <= 1.0


def test_torchvision_pipeline_matches_tensor_pipeline(tiny_data_dir: Path) -> None:
    tensor = make_datamodule(tiny_data_dir)
    pil = make_datamodule(tiny_data_dir, pipeline="torchvision")
    tensor_batch = tensor.on_after_batch_transfer(next(iter(tensor.val_dataloader())), 0)
    pil_batch = pil.on_after_batch_transfer(next(iter(pil.val_dataloader())), 0)
    assert torch.allclose(tensor_batch[0], pil_batch[0])
    assert torch.equal(tensor_batch[1], pil_batch[1])


def test_missing_data_raises_data_error(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="IDX files not found"):
        make_datamodule(tmp_path / "nothing-here")


def test_official_sizes_enforced(tmp_path: Path) -> None:
    folder = write_dataset(tmp_path / "short", train=50, test=10)
    with pytest.raises(DataError, match="expected 60000"):
        make_datamodule(folder, val_size=10, train_size=60000)
