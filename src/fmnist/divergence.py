"""Stop a run whose training loss is no longer finite, with an error that names the cause.

A learning rate that is too high drives the loss to inf or NaN, and the run would go on
to produce NaN metrics and a chance-level checkpoint. Raising instead makes the run fail
with exit status 2, or, inside a sweep, marks that job failed in the sweep report.
"""

import math

import pytorch_lightning as pl
import torch

from fmnist.errors import UserInputError


class TrainingDivergedError(UserInputError):
    """The training loss became inf or NaN, usually because the learning rate is too high."""


class DivergenceCheck(pl.Callback):
    """Raise ``TrainingDivergedError`` when the training loss of a checked batch is not finite.

    Reading the loss waits for the device, so only every ``check_every_n_batches``-th batch
    and the last batch of each epoch are checked. Weights that became NaN keep the loss NaN,
    so the check still catches a divergence, at most that many batches later.
    """

    def __init__(self, check_every_n_batches: int = 50) -> None:
        if check_every_n_batches < 1:
            raise UserInputError(
                f"Invalid check_every_n_batches={check_every_n_batches}; use 1 or more."
            )
        self.check_every_n_batches = check_every_n_batches

    def on_train_batch_end(
        self, trainer: pl.Trainer, pl_module: pl.LightningModule, outputs, batch, batch_idx: int
    ) -> None:
        last_batch = batch_idx + 1 == trainer.num_training_batches
        if batch_idx % self.check_every_n_batches and not last_batch:
            return
        loss = outputs["loss"] if isinstance(outputs, dict) else outputs
        if loss is None or torch.isfinite(loss).all():
            return

        value = float(loss.detach().float().mean())
        lr = trainer.optimizers[0].param_groups[0]["lr"] if trainer.optimizers else math.nan
        raise TrainingDivergedError(
            f"Training diverged: the loss is {value} at epoch {trainer.current_epoch}, batch "
            f"{batch_idx}. Lower model.optimizer.lr (now {lr:g}) or add gradient clipping "
            "(trainer.gradient_clip_val)."
        )
