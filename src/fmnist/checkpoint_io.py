"""Checkpoint writing that never leaves a partial file where a good checkpoint was."""

from pathlib import Path
from typing import Any

import pytorch_lightning as pl
import torch
from fsspec.implementations.local import LocalFileSystem
from lightning_fabric.utilities.cloud_io import get_filesystem
from pytorch_lightning.plugins.io import TorchCheckpointIO

from fmnist.atomic import atomic_write
from fmnist.errors import CheckpointWriteError


class AtomicCheckpointIO(TorchCheckpointIO):
    """Save local checkpoints to a temporary file in the target folder, then rename it.

    Lightning 2.6 writes through an fsspec transaction whose temporary file lives in the system
    temp folder (fsspec 2026.9). When that folder is on another file system than the checkpoint,
    the final step is a copy into the target, so a full disk there truncates the earlier
    checkpoint. Here the temporary file sits next to the target, and the rename is atomic.
    Remote paths (s3://, gs://...) keep Lightning's own writer.
    """

    def save_checkpoint(
        self, checkpoint: dict[str, Any], path: Any, storage_options: Any | None = None
    ) -> None:
        if storage_options is not None or not isinstance(get_filesystem(path), LocalFileSystem):
            super().save_checkpoint(checkpoint, path, storage_options)
            return

        target = Path(path)
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            with atomic_write(target) as stream:
                torch.save(checkpoint, stream)
        except OSError as error:
            reason = error.strerror or str(error)
            raise CheckpointWriteError(
                f"Cannot write checkpoint {target}: {reason}. Any earlier file at that path is "
                "unchanged. Free disk space, or set paths.log_dir to a writable folder."
            ) from error


def use_atomic_checkpoints(trainer: pl.Trainer) -> None:
    """Swap Lightning's default checkpoint writer for ``AtomicCheckpointIO``.

    A writer chosen through ``trainer.plugins`` is kept as it is.
    """
    strategy = trainer.strategy
    if type(strategy.checkpoint_io) is TorchCheckpointIO:
        strategy.checkpoint_io = AtomicCheckpointIO()
