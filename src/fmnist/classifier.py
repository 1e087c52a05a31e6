"""The LightningModule: loss, metrics, optimizer and scheduler around the network."""

import inspect
from collections.abc import Mapping
from typing import Any

import pytorch_lightning as pl
import torch
import torch.nn.functional as F
from hydra.utils import get_class, instantiate
from omegaconf import DictConfig, OmegaConf
from torchmetrics import MaxMetric, MeanMetric
from torchmetrics.classification import MulticlassAccuracy, MulticlassConfusionMatrix

from fmnist.classes import NUM_CLASSES

# Mean and standard deviation of the Fashion-MNIST training pixels scaled to [0, 1].
FASHION_MNIST_MEAN = 0.2860
FASHION_MNIST_STD = 0.3530

# Scheduler arguments that give the length of a whole schedule.
RUN_LENGTH_KEYS = ("total_steps", "T_max")


def to_plain(value: Any) -> Any:
    """Turn OmegaConf containers into dicts and lists, so checkpoints hold only plain types."""
    if isinstance(value, DictConfig) or OmegaConf.is_list(value):
        return OmegaConf.to_container(value, resolve=True)
    return value


def normalize(
    images: torch.Tensor, mean: torch.Tensor, std: torch.Tensor, channels_last: bool = False
) -> torch.Tensor:
    """Standardize images in [0, 1] with the data set's pixel statistics."""
    images = (images - mean) / std
    if channels_last:
        images = images.contiguous(memory_format=torch.channels_last)
    return images


def classify(
    net: torch.nn.Module,
    images: torch.Tensor,
    mean: torch.Tensor,
    std: torch.Tensor,
    channels_last: bool = False,
    tta_hflip: bool = False,
) -> torch.Tensor:
    """Return the logits of ``net`` for images in [0, 1].

    With ``tta_hflip`` the logits are the mean over each image and its mirror image.
    """
    logits = net(normalize(images, mean, std, channels_last))
    if tta_hflip:
        logits = (logits + net(normalize(images.flip(-1), mean, std, channels_last))) / 2
    return logits


class FashionMNISTClassifier(pl.LightningModule):
    """Train, validate and test a network built from the ``net`` config.

    The network, optimizer and scheduler are stored as configs (``_target_`` plus arguments)
    in the hyperparameters, so a checkpoint alone rebuilds the exact network it was saved from.
    Inputs are float images in [0, 1]; normalization happens in ``forward``.

    ``channels_last`` stores convolution weights and inputs as NHWC, which oneDNN runs faster
    on the CPU. ``compile`` runs the network through ``torch.compile``; the state-dict keys
    stay the same either way, so checkpoints load with both settings. ``tta_hflip`` averages
    the logits of each image and its mirror image in eval mode (validation, test, prediction
    and export), at twice the cost of one evaluation.
    """

    def __init__(
        self,
        net: Mapping,
        optimizer: Mapping,
        scheduler: Mapping | None = None,
        scheduler_interval: str = "epoch",
        label_smoothing: float = 0.0,
        normalize_mean: float = FASHION_MNIST_MEAN,
        normalize_std: float = FASHION_MNIST_STD,
        channels_last: bool = False,
        compile: bool = False,
        tta_hflip: bool = False,
    ) -> None:
        super().__init__()
        net, optimizer, scheduler = to_plain(net), to_plain(optimizer), to_plain(scheduler)
        self.save_hyperparameters()

        self.net = instantiate(net)
        if channels_last:
            self.net.to(memory_format=torch.channels_last)
        if compile:
            self.net.compile()
        self.register_buffer("mean", torch.tensor(normalize_mean), persistent=False)
        self.register_buffer("std", torch.tensor(normalize_std), persistent=False)

        # Micro averaging gives the plain fraction of correct predictions.
        self.val_acc = MulticlassAccuracy(NUM_CLASSES, average="micro")
        self.test_acc = MulticlassAccuracy(NUM_CLASSES, average="micro")
        # The training metrics update every step, so they skip their input checks, which cost
        # a few percent of a CPU step and a device sync per step on a GPU. A NaN loss still
        # shows up, as a NaN train/loss.
        self.train_acc = MulticlassAccuracy(NUM_CLASSES, average="micro", validate_args=False)
        self.train_loss = MeanMetric(nan_strategy="disable")
        self.val_loss = MeanMetric()
        self.test_loss = MeanMetric()
        self.val_cm = MulticlassConfusionMatrix(NUM_CLASSES)
        self.test_cm = MulticlassConfusionMatrix(NUM_CLASSES)
        # Saved in checkpoints, so a resumed run keeps its best-so-far accuracy.
        self.val_acc_best = MaxMetric()
        self.val_acc_best.persistent(True)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return classify(
            self.net,
            images,
            self.mean,
            self.std,
            channels_last=self.hparams.channels_last,
            tta_hflip=self.hparams.tta_hflip and not self.training,
        )

    def model_step(
        self, batch: tuple[torch.Tensor, torch.Tensor]
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        images, labels = batch
        logits = self(images)
        loss = F.cross_entropy(logits, labels, label_smoothing=self.hparams.label_smoothing)
        return loss, logits.argmax(dim=1), labels

    def on_train_epoch_start(self) -> None:
        self.train_acc.reset()
        self.train_loss.reset()

    def training_step(self, batch: tuple[torch.Tensor, torch.Tensor], batch_idx: int):
        loss, preds, labels = self.model_step(batch)
        self.train_loss.update(loss.detach(), weight=len(labels))
        self.train_acc.update(preds, labels)
        return loss

    def on_train_epoch_end(self) -> None:
        self.log("train/loss", self.train_loss.compute(), prog_bar=True)
        self.log("train/acc", self.train_acc.compute(), prog_bar=True)

    def on_validation_epoch_start(self) -> None:
        self.val_acc.reset()
        self.val_loss.reset()
        self.val_cm.reset()

    def validation_step(self, batch: tuple[torch.Tensor, torch.Tensor], batch_idx: int) -> None:
        loss, preds, labels = self.model_step(batch)
        self.val_loss.update(loss, weight=len(labels))
        self.val_acc.update(preds, labels)
        self.val_cm.update(preds, labels)

    def on_validation_epoch_end(self) -> None:
        # The sanity check runs two batches only; its figures must not count as a best score.
        if self.trainer.sanity_checking:
            return
        acc = self.val_acc.compute()
        self.val_acc_best.update(acc)
        self.log("val/loss", self.val_loss.compute(), prog_bar=True)
        self.log("val/acc", acc, prog_bar=True)
        self.log("val/acc_best", self.val_acc_best.compute())

    def on_test_epoch_start(self) -> None:
        self.test_acc.reset()
        self.test_loss.reset()
        self.test_cm.reset()

    def test_step(self, batch: tuple[torch.Tensor, torch.Tensor], batch_idx: int) -> None:
        loss, preds, labels = self.model_step(batch)
        self.test_loss.update(loss, weight=len(labels))
        self.test_acc.update(preds, labels)
        self.test_cm.update(preds, labels)

    def on_test_epoch_end(self) -> None:
        self.log("test/loss", self.test_loss.compute())
        self.log("test/acc", self.test_acc.compute())

    def configure_optimizers(self) -> Any:
        optimizer = instantiate(self.hparams.optimizer)(params=self.parameters())
        if self.hparams.scheduler is None:
            return optimizer
        scheduler = instantiate(self.scheduler_config())(optimizer=optimizer)
        return {
            "optimizer": optimizer,
            "lr_scheduler": {
                "scheduler": scheduler,
                "interval": self.hparams.scheduler_interval,
                "monitor": "val/loss",
            },
        }

    def scheduler_config(self) -> dict:
        """Return the scheduler config with a null run length filled in.

        OneCycleLR's ``total_steps`` and CosineAnnealingLR's ``T_max`` left null mean the whole
        run, counted in the unit of ``scheduler_interval``: optimizer steps or epochs.
        """
        config = dict(self.hparams.scheduler)
        accepted = inspect.signature(get_class(config["_target_"])).parameters
        for key in RUN_LENGTH_KEYS:
            if key in config and config[key] is None:
                if key not in accepted:
                    # Left over from the default scheduler when a config swaps in another one.
                    del config[key]
                elif self.hparams.scheduler_interval == "step":
                    config[key] = int(self.trainer.estimated_stepping_batches)
                else:
                    config[key] = int(self.trainer.max_epochs)
        return config
