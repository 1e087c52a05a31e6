"""Stop training as soon as the loss is NaN or infinite."""

import math
from typing import Any

import pytorch_lightning as pl
import torch

from fmnist.errors import NonFiniteLossError


def learning_rate(trainer: pl.Trainer) -> float | None:
    """Return the current learning rate of the first optimizer's first parameter group."""
    if not trainer.optimizers:
        return None
    return trainer.optimizers[0].param_groups[0].get("lr")


class NonFiniteLossCheck(pl.Callback):
    """Raise ``NonFiniteLossError`` after the first training step whose loss is not finite.

    Lightning calls checkpoint callbacks last, so this check runs before any of them can save
    the weights that the bad step has changed. It costs one device-to-host copy of the loss
    per step. torchmetrics' MeanMetric, which averages the training loss, makes the same copy
    with its default ``nan_strategy="warn"``.
    """

    def on_train_batch_end(
        self,
        trainer: pl.Trainer,
        pl_module: pl.LightningModule,
        outputs: Any,
        batch: Any,
        batch_idx: int,
    ) -> None:
        loss = outputs.get("loss") if isinstance(outputs, dict) else outputs
        if not isinstance(loss, torch.Tensor):
            return
        value = float(loss.detach())
        if math.isfinite(value):
            return

        lr = learning_rate(trainer)
        shown_lr = "unknown" if lr is None else f"{lr:g}"
        raise NonFiniteLossError(
            f"Training loss is {value} at step {trainer.global_step} (epoch "
            f"{trainer.current_epoch}, batch {batch_idx}) with learning rate {shown_lr}, so "
            "training stopped. Lower model.optimizer.lr, set trainer.gradient_clip_val, or "
            "check the input data for NaN values."
        )
