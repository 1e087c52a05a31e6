"""Lightning callbacks that report on a run; training works the same without them."""

import logging
from pathlib import Path

import pytorch_lightning as pl
from pytorch_lightning.loggers import TensorBoardLogger
from torch.utils.tensorboard import SummaryWriter

from fmnist.classes import CLASS_NAMES
from fmnist.plots import confusion_matrix_figure

log = logging.getLogger(__name__)


class ConfusionMatrixHeatmap(pl.Callback):
    """Log the validation and test confusion matrices to TensorBoard as heatmaps.

    Tags are ``val/confusion_matrix`` (step = epoch, sanity check skipped) and
    ``test/confusion_matrix``; the test heatmap is also saved as a PNG in ``output_dir``.
    The matrices are computed on every process, so they hold the whole data set under DDP,
    and drawn on rank zero only.
    """

    def __init__(self, output_dir: str | None = None, normalize: bool = False) -> None:
        self.output_dir = Path(output_dir) if output_dir else None
        self.normalize = normalize
        self.warned_no_logger = False

    def find_writer(self, trainer: pl.Trainer) -> SummaryWriter | None:
        for logger in trainer.loggers:
            if isinstance(logger, TensorBoardLogger):
                return logger.experiment
        if not self.warned_no_logger:
            log.info("No TensorBoard logger in this run, so confusion matrices are not logged.")
            self.warned_no_logger = True
        return None

    def on_validation_epoch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if trainer.sanity_checking:
            return
        matrix = pl_module.val_cm.compute()
        if not trainer.is_global_zero:
            return
        writer = self.find_writer(trainer)
        if writer is None:
            return
        title = f"Validation confusion matrix, epoch {trainer.current_epoch}"
        figure = confusion_matrix_figure(matrix, CLASS_NAMES, self.normalize, title)
        writer.add_figure("val/confusion_matrix", figure, global_step=trainer.current_epoch)

    def on_test_epoch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        matrix = pl_module.test_cm.compute()
        if not trainer.is_global_zero:
            return
        figure = confusion_matrix_figure(
            matrix, CLASS_NAMES, self.normalize, "Test confusion matrix"
        )
        if self.output_dir is not None:
            self.output_dir.mkdir(parents=True, exist_ok=True)
            figure.savefig(self.output_dir / "confusion_matrix_test.png", dpi=100)
        writer = self.find_writer(trainer)
        if writer is not None:
            writer.add_figure("test/confusion_matrix", figure, global_step=trainer.current_epoch)
