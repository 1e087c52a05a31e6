"""The in-memory data pipeline and the classifier options that shape each batch's forward pass."""

from pathlib import Path

import pytest
import pytorch_lightning as pl
import torch

from fmnist.augment import BatchAugmentation
from fmnist.classifier import FashionMNISTClassifier, normalize
from fmnist.datamodule import FashionMNISTDataModule, TensorBatchDataset
from fmnist.errors import UserInputError

from conftest import TINY_TRAIN, TINY_VAL


def tiny_datamodule(data_dir: Path, **overrides) -> FashionMNISTDataModule:
    settings = dict(
        data_dir=str(data_dir),
        system_dirs=[],
        train_size=None,
        test_size=None,
        val_size=TINY_VAL,
        batch_size=50,
        eval_batch_size=100,
    )
    settings.update(overrides)
    return FashionMNISTDataModule(**settings)


def cpu_trainer() -> pl.Trainer:
    return pl.Trainer(
        accelerator="cpu",
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
    )


def epoch_labels(datamodule: FashionMNISTDataModule, epoch: int) -> torch.Tensor:
    """Return the training labels in the order the train loader yields them in ``epoch``.

    Lightning calls ``set_epoch`` on the sampler before each epoch; this does the same.
    """
    loader = datamodule.train_dataloader()
    loader.sampler.set_epoch(epoch)
    return torch.cat([labels for _, labels in loader])


def test_getitems_matches_getitem() -> None:
    images = torch.randint(0, 256, (10, 1, 28, 28), dtype=torch.uint8)
    labels = torch.arange(10)
    dataset = TensorBatchDataset(images, labels)
    batch_images, batch_labels = dataset.__getitems__([7, 2, 2, 9])
    assert torch.equal(batch_images, torch.stack([dataset[i][0] for i in (7, 2, 2, 9)]))
    assert batch_labels.tolist() == [7, 2, 2, 9]


def test_shuffle_differs_per_epoch(tiny_data_dir: Path) -> None:
    datamodule = tiny_datamodule(tiny_data_dir)
    datamodule.setup("fit")
    first, second = epoch_labels(datamodule, 0), epoch_labels(datamodule, 1)
    assert len(first) == TINY_TRAIN - TINY_VAL
    assert not torch.equal(first, second)


def test_shuffle_repeats_under_seed(tiny_data_dir: Path) -> None:
    datamodule = tiny_datamodule(tiny_data_dir)
    datamodule.setup("fit")
    orders = []
    for _ in range(2):
        orders.append((epoch_labels(datamodule, 0), epoch_labels(datamodule, 1)))
    assert torch.equal(orders[0][0], orders[1][0])
    assert torch.equal(orders[0][1], orders[1][1])


def test_augmentation_only_on_training_batches(tiny_data_dir: Path) -> None:
    augment = BatchAugmentation(hflip=True, max_shift=2)
    datamodule = tiny_datamodule(tiny_data_dir, augment=augment)
    datamodule.trainer = cpu_trainer()
    datamodule.setup("fit")
    batch = next(iter(datamodule.train_dataloader()))
    plain = batch[0].float() / 255

    for stage in ("validating", "testing", "predicting"):
        setattr(datamodule.trainer, stage, True)
        images, _ = datamodule.on_after_batch_transfer(batch, 0)
        assert torch.equal(images, plain), f"{stage} batches must not be augmented"

    datamodule.trainer.training = True
    images, labels = datamodule.on_after_batch_transfer(batch, 0)
    assert images.shape == plain.shape
    assert images.dtype == torch.float32
    assert torch.equal(labels, batch[1])
    assert not torch.equal(images, plain)


def test_disabled_augmentation_is_dropped(tiny_data_dir: Path) -> None:
    datamodule = tiny_datamodule(tiny_data_dir, augment=BatchAugmentation())
    assert datamodule.augment is None


def test_keep_on_device_rejects_workers(tiny_data_dir: Path) -> None:
    with pytest.raises(UserInputError, match="num_workers=2"):
        tiny_datamodule(tiny_data_dir, keep_on_device=True, num_workers=2)


def test_keep_on_device_cpu_trainer_keeps_cpu(tiny_data_dir: Path) -> None:
    datamodule = tiny_datamodule(tiny_data_dir, keep_on_device=True)
    datamodule.trainer = cpu_trainer()
    datamodule.setup("fit")
    images, _ = next(iter(datamodule.train_dataloader()))
    assert images.device.type == "cpu"


def tiny_classifier(**overrides) -> FashionMNISTClassifier:
    settings = dict(
        net={"_target_": "fmnist.network.ClassicCNN"},
        optimizer={"_target_": "torch.optim.Adam", "_partial_": True, "lr": 0.001},
    )
    settings.update(overrides)
    return FashionMNISTClassifier(**settings)


def normalized(model: FashionMNISTClassifier, images: torch.Tensor) -> torch.Tensor:
    """Return the network input that ``model`` makes of images in [0, 1]."""
    return normalize(images, model.mean, model.std, model.hparams.channels_last)


def test_channels_last_checkpoint_loads_contiguous() -> None:
    torch.manual_seed(0)
    source = tiny_classifier(channels_last=True)
    target = tiny_classifier()
    target.load_state_dict(source.state_dict())
    images = torch.rand(4, 1, 28, 28)
    conv2 = source.net.features[3].weight
    assert conv2.is_contiguous(memory_format=torch.channels_last)
    assert not conv2.is_contiguous()
    assert torch.allclose(source(images), target(images), atol=1e-5)


def test_tta_averages_mirror_in_eval() -> None:
    torch.manual_seed(0)
    model = tiny_classifier(tta_hflip=True).eval()
    images = torch.rand(4, 1, 28, 28)
    with torch.no_grad():
        plain = model.net(normalized(model, images))
        mirrored = model.net(normalized(model, images.flip(-1)))
        averaged = model(images)
    assert torch.allclose(averaged, (plain + mirrored) / 2, atol=1e-6)
    assert not torch.allclose(averaged, plain, atol=1e-4), "the mirror should change logits"


def test_tta_single_pass_in_training() -> None:
    torch.manual_seed(0)
    model = tiny_classifier(tta_hflip=True).train()
    images = torch.rand(4, 1, 28, 28)
    assert torch.equal(model(images), model.net(normalized(model, images)))


def test_tta_off_by_default() -> None:
    torch.manual_seed(0)
    model = tiny_classifier().eval()
    images = torch.rand(4, 1, 28, 28)
    with torch.no_grad():
        assert torch.equal(model(images), model.net(normalized(model, images)))
    assert model.hparams.tta_hflip is False


def test_scheduler_null_length_uses_epochs() -> None:
    model = tiny_classifier(
        scheduler={
            "_target_": "torch.optim.lr_scheduler.CosineAnnealingLR",
            "_partial_": True,
            "T_max": None,
        },
        scheduler_interval="epoch",
    )
    model.trainer = pl.Trainer(max_epochs=7, logger=False, enable_checkpointing=False)
    assert model.scheduler_config()["T_max"] == 7
