"""The Fashion-MNIST LightningDataModule.

The IDX files are decoded once into uint8 tensors, and each batch is one indexing operation
on them. Conversion to float and training augmentation happen per batch after the batch
reaches the device.

The decoded tensors are not cached on disk, because decoding the gzipped files takes about
0.25 s on a 2-core AMD EPYC, well under 1% of a 10-epoch run (docs/benchmarks.md).
"""

import logging
from collections.abc import Callable, Sequence
from pathlib import Path

import pytorch_lightning as pl
import torch
from PIL import Image
from pytorch_lightning.accelerators import CUDAAccelerator
from torch.utils.data import DataLoader, Dataset, RandomSampler, Sampler

from fmnist import sources
from fmnist.augment import BatchAugmentation
from fmnist.data_check import check_fashion_mnist
from fmnist.distributed import evaluation_sampler
from fmnist.errors import DataError, UserInputError
from fmnist.idx import read_split

log = logging.getLogger(__name__)

PIPELINES = ("tensor", "torchvision")


class TensorBatchDataset(Dataset):
    """Images and labels in memory; ``__getitems__`` fetches a whole batch in one step."""

    def __init__(self, images: torch.Tensor, labels: torch.Tensor) -> None:
        self.images = images
        self.labels = labels

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        return self.images[index], self.labels[index]

    def __getitems__(self, indices: list[int]) -> tuple[torch.Tensor, torch.Tensor]:
        # index_select copies whole rows and is several times faster than images[index].
        index = torch.as_tensor(indices, device=self.images.device)
        return self.images.index_select(0, index), self.labels.index_select(0, index)


class EpochSeededSampler(RandomSampler):
    """Shuffle with a generator seeded from ``seed + epoch``, independent of the global RNG.

    Lightning calls ``set_epoch`` before each training epoch, so a run resumed from a
    checkpoint sees the same order as one that never stopped. Being a ``RandomSampler``, it
    is replaced by Lightning's ``DistributedSampler`` (also seeded per epoch) under DDP.
    """

    def __init__(self, data_source: Dataset, seed: int) -> None:
        super().__init__(data_source)
        self.seed = seed
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __iter__(self):
        generator = torch.Generator().manual_seed(self.seed + self.epoch)
        yield from torch.randperm(len(self.data_source), generator=generator).tolist()


def keep_batch(batch: tuple[torch.Tensor, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
    """Collate function for ``TensorBatchDataset``, whose batches arrive already stacked."""
    return batch


class PILImageDataset(Dataset):
    """Per-sample PIL images run through torchvision transforms, for custom pipelines."""

    def __init__(self, images: torch.Tensor, labels: torch.Tensor, transform: Callable) -> None:
        self.images = images
        self.labels = labels
        self.transform = transform

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, int]:
        image = Image.fromarray(self.images[index, 0].numpy(), mode="L")
        return self.transform(image), int(self.labels[index])


class FashionMNISTDataModule(pl.LightningDataModule):
    """Fashion-MNIST split into train and validation sets, plus the official test set.

    The validation set is drawn from the 60,000 training images with a seeded generator, so
    the official test set is only ever used for the final test.
    """

    def __init__(
        self,
        data_dir: str = "data",
        system_dirs: Sequence[str] = sources.SYSTEM_DIRS,
        download: bool = False,
        val_size: int | float = 5000,
        split_seed: int = 42,
        batch_size: int = 64,
        eval_batch_size: int = 1000,
        num_workers: int = 0,
        pipeline: str = "tensor",
        transform: Callable | None = None,
        train_size: int | None = 60000,
        test_size: int | None = 10000,
        check_statistics: bool = True,
        shuffle_seed: int = 0,
        augment: BatchAugmentation | None = None,
        keep_on_device: bool = False,
    ) -> None:
        super().__init__()
        if pipeline not in PIPELINES:
            raise UserInputError(
                f"Invalid data.pipeline={pipeline!r}; choose one of {', '.join(PIPELINES)}."
            )
        self.data_dir = data_dir
        self.system_dirs = list(system_dirs)
        self.download = download
        self.val_size = val_size
        self.split_seed = split_seed
        self.batch_size = batch_size
        self.eval_batch_size = eval_batch_size
        self.num_workers = num_workers
        self.pipeline = pipeline
        self.transform = transform
        self.train_size = train_size
        self.test_size = test_size
        self.check_statistics = check_statistics
        self.shuffle_seed = shuffle_seed
        self.augment = augment if augment is not None and augment.enabled else None
        self.keep_on_device = keep_on_device
        if keep_on_device and (pipeline != "tensor" or num_workers > 0):
            raise UserInputError(
                "data.keep_on_device=true needs data.pipeline=tensor and data.num_workers=0, "
                f"got pipeline={pipeline!r} and num_workers={num_workers}."
            )
        self.files: dict[str, Path] | None = None
        self.data_train: Dataset | None = None
        self.data_val: Dataset | None = None
        self.data_test: Dataset | None = None

    def prepare_data(self) -> None:
        self.files = sources.locate(self.data_dir, self.system_dirs, self.download)
        log.info("Fashion-MNIST data: %s", next(iter(self.files.values())).parent)

    def setup(self, stage: str | None = None) -> None:
        if self.files is None:
            self.prepare_data()
        if self.data_train is None and stage in (None, "fit", "validate"):
            images_stem, labels_stem = sources.SPLIT_FILES["train"]
            images, labels = read_split(
                self.files[images_stem], self.files[labels_stem], self.train_size
            )
            self.check_split("train", images, labels)
            train_index, val_index = self.split_indices(len(labels))
            self.data_train = self.make_dataset(images[train_index], labels[train_index])
            self.data_val = self.make_dataset(images[val_index], labels[val_index])
        if self.data_test is None and stage in (None, "test", "predict"):
            images_stem, labels_stem = sources.SPLIT_FILES["test"]
            images, labels = read_split(
                self.files[images_stem], self.files[labels_stem], self.test_size
            )
            self.check_split("test", images, labels)
            self.data_test = self.make_dataset(images, labels)

    def check_split(self, split: str, images: torch.Tensor, labels: torch.Tensor) -> None:
        if self.check_statistics:
            images_stem, labels_stem = sources.SPLIT_FILES[split]
            paths = self.files[images_stem], self.files[labels_stem]
            check_fashion_mnist(split, images, labels, *paths)

    def split_indices(self, count: int) -> tuple[torch.Tensor, torch.Tensor]:
        """Return seeded, disjoint train and validation indices into the training file."""
        if isinstance(self.val_size, float):
            val_count = round(count * self.val_size)
        else:
            val_count = int(self.val_size)
        if not 0 < val_count < count:
            raise DataError(
                f"Invalid data.val_size={self.val_size}: the training file contains {count} "
                f"images, so use a fraction in (0, 1) or a count from 1 to {count - 1}."
            )
        if self.batch_size > count - val_count:
            raise DataError(
                f"Invalid data.batch_size={self.batch_size}: the training split has only "
                f"{count - val_count} images ({count} minus data.val_size={self.val_size}), "
                f"so use a batch size up to {count - val_count}."
            )
        generator = torch.Generator().manual_seed(self.split_seed)
        order = torch.randperm(count, generator=generator)
        return order[val_count:], order[:val_count]

    def make_dataset(self, images: torch.Tensor, labels: torch.Tensor) -> Dataset:
        if self.pipeline == "torchvision":
            from torchvision.transforms import ToTensor

            return PILImageDataset(images, labels, self.transform or ToTensor())
        device = self.data_device()
        return TensorBatchDataset(images.to(device), labels.to(device))

    def data_device(self) -> torch.device:
        """Return where the tensors live: the training device with keep_on_device, else the CPU.

        On a GPU, 70,000 uint8 images take 55 MB of its memory, and batches are then indexed
        there with no copy from the host per step.
        """
        # NOTE: the GPU branch is written to Lightning's API but not yet run on a GPU.
        if self.keep_on_device and self.trainer is not None:
            return self.trainer.strategy.root_device
        return torch.device("cpu")

    def make_loader(
        self, dataset: Dataset, batch_size: int, shuffle: bool, sampler: Sampler | None = None
    ) -> DataLoader:
        # Pinned memory only speeds up copies from the host to a GPU; on the CPU it costs time.
        on_gpu = self.trainer is not None and isinstance(self.trainer.accelerator, CUDAAccelerator)
        pin_memory = on_gpu and self.data_device().type == "cpu"
        return DataLoader(
            dataset,
            batch_size=batch_size,
            # Training shuffles by epoch seed; evaluation may bring its own (DDP) sampler.
            sampler=EpochSeededSampler(dataset, self.shuffle_seed) if shuffle else sampler,
            # Each new iterator draws a base seed for its workers. Drawing it from this
            # generator leaves the global RNG to the model, so a resume does not shift it.
            generator=torch.Generator().manual_seed(self.shuffle_seed),
            num_workers=self.num_workers,
            persistent_workers=self.num_workers > 0,
            pin_memory=pin_memory,
            collate_fn=keep_batch if isinstance(dataset, TensorBatchDataset) else None,
        )

    def train_dataloader(self) -> DataLoader:
        loader = self.make_loader(self.data_train, self.batch_size, shuffle=True)
        if self.trainer is not None:
            # Worker processes fetch indices as soon as the iterator exists, which Lightning
            # creates before calling set_epoch when it resumes; start at the resumed epoch.
            loader.sampler.set_epoch(self.trainer.fit_loop.epoch_progress.current.processed)
        return loader

    # Under DDP, evaluation loaders split their set exactly instead of padding it by repeats.
    def val_dataloader(self) -> DataLoader:
        sampler = evaluation_sampler(self.data_val, self.trainer)
        return self.make_loader(self.data_val, self.eval_batch_size, shuffle=False, sampler=sampler)

    def test_dataloader(self) -> DataLoader:
        sampler = evaluation_sampler(self.data_test, self.trainer)
        return self.make_loader(
            self.data_test, self.eval_batch_size, shuffle=False, sampler=sampler
        )

    def on_after_batch_transfer(
        self, batch: tuple[torch.Tensor, torch.Tensor], dataloader_idx: int
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Augment training batches, then scale uint8 images to floats in [0, 1].

        Both run on the device the batch now lives on. ``trainer.training`` is false during
        validation, testing and prediction, so only training batches are augmented.
        """
        images, labels = batch
        if self.augment is not None and self.trainer is not None and self.trainer.training:
            images = self.augment(images)
        if images.dtype == torch.uint8:
            images = images.float().div_(255)
        return images, labels
