"""Collect the test images the classifier got wrong with the highest confidence."""

from dataclasses import dataclass

import pytorch_lightning as pl
import torch
from matplotlib.figure import Figure

from fmnist.classes import CLASS_NAMES
from fmnist.plots import image_grid_figure


@dataclass
class Mistakes:
    """The most confident wrong predictions, in descending order of probability."""

    indices: torch.Tensor
    images: torch.Tensor
    labels: torch.Tensor
    predictions: torch.Tensor
    probabilities: torch.Tensor

    def as_records(self) -> list[dict]:
        """Return one dict per mistake with the test-set index and class names."""
        return [
            {
                "index": int(index),
                "true_class": CLASS_NAMES[int(label)],
                "predicted_class": CLASS_NAMES[int(prediction)],
                "probability": float(probability),
            }
            for index, label, prediction, probability in zip(
                self.indices, self.labels, self.predictions, self.probabilities, strict=True
            )
        ]

    def figure(self) -> Figure:
        titles = [
            f"true {record['true_class']}\npred {record['predicted_class']} "
            f"({record['probability']:.2f})"
            for record in self.as_records()
        ]
        return image_grid_figure(
            self.images, titles, f"The {len(titles)} most confident test-set mistakes"
        )


class ConfidentMistakes(pl.Callback):
    """Keep the ``count`` test images predicted wrongly with the highest softmax probability.

    The test step returns nothing, so this callback runs the model once more on each test
    batch. Indices count samples in test-loader order, which is the order of the test file.
    """

    def __init__(self, count: int = 16) -> None:
        self.count = count
        self.seen = 0
        self.best: Mistakes | None = None

    def on_test_epoch_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self.seen = 0
        self.best = None

    def on_test_batch_end(
        self,
        trainer: pl.Trainer,
        pl_module: pl.LightningModule,
        outputs: object,
        batch: tuple[torch.Tensor, torch.Tensor],
        batch_idx: int,
        dataloader_idx: int = 0,
    ) -> None:
        images, labels = batch
        probabilities = torch.softmax(pl_module(images), dim=1)
        confidence, predictions = probabilities.max(dim=1)
        wrong = predictions != labels
        indices = torch.arange(self.seen, self.seen + len(labels), device=labels.device)
        self.seen += len(labels)
        if self.count <= 0 or not bool(wrong.any()):
            return

        batch_mistakes = Mistakes(
            indices=indices[wrong].cpu(),
            images=images[wrong].cpu(),
            labels=labels[wrong].cpu(),
            predictions=predictions[wrong].cpu(),
            probabilities=confidence[wrong].cpu(),
        )
        self.best = self.keep_top(batch_mistakes)

    def keep_top(self, new: Mistakes) -> Mistakes:
        """Merge ``new`` into the kept mistakes and keep the ``count`` most confident."""
        if self.best is not None:
            new = Mistakes(
                *(
                    torch.cat([getattr(self.best, field), getattr(new, field)])
                    for field in Mistakes.__dataclass_fields__
                )
            )
        order = torch.argsort(new.probabilities, descending=True, stable=True)[: self.count]
        return Mistakes(*(getattr(new, field)[order] for field in Mistakes.__dataclass_fields__))
