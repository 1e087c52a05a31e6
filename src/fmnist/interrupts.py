"""Stop training cleanly on Ctrl-C (SIGINT) or SIGTERM, leaving a resumable ``last.ckpt``.

Left alone, Lightning 2.6 handles the two signals differently. Ctrl-C raises KeyboardInterrupt
wherever the code happens to be, possibly halfway through an optimizer step. Lightning then
calls the ``on_exception`` hooks, ignores further Ctrl-C while it shuts down and exits with
status 1, saving nothing. SIGTERM sets ``trainer.received_sigterm``, and the loops raise
``SIGTERMException`` after the current batch, a SystemExit that exits with status 0.

``GracefulStop`` treats both alike: the first signal only sets a flag, the run stops at the
next batch boundary, ``last.ckpt`` is saved from a consistent state, and ``TrainingInterrupted``
carries the exit status 128 + signal number. A second signal exits at once.
"""

import logging
import os
import signal
from pathlib import Path
from types import FrameType, TracebackType
from typing import Any

import pytorch_lightning as pl
from pytorch_lightning.callbacks import ModelCheckpoint
from pytorch_lightning.trainer.states import TrainerFn
from pytorch_lightning.utilities.exceptions import SIGTERMException

from fmnist.errors import TrainingInterrupted

log = logging.getLogger(__name__)

HANDLED_SIGNALS = (signal.SIGINT, signal.SIGTERM)


def signal_name(signal_number: int) -> str:
    return signal.Signals(signal_number).name


class GracefulStop(pl.Callback):
    """Callback plus signal handlers: enter it around ``trainer.fit`` and ``trainer.test``.

    The checkpoint goes to ``last.ckpt`` in the ``ModelCheckpoint`` folder, or in
    ``fallback_dir`` when the run has no ``ModelCheckpoint``. It is written only while fitting
    and after at least one optimizer step, and ``checkpoint_path`` is its path afterwards.
    """

    def __init__(self, fallback_dir: str | Path) -> None:
        self.fallback_dir = Path(fallback_dir)
        self.received: int | None = None
        self.checkpoint_path: Path | None = None
        self.previous_handlers: dict[int, Any] = {}
        self.trainer: pl.Trainer | None = None

    def __enter__(self) -> "GracefulStop":
        # Python only lets the main thread install signal handlers.
        for signal_number in HANDLED_SIGNALS:
            try:
                self.previous_handlers[signal_number] = signal.signal(
                    signal_number, self.handle_signal
                )
            except ValueError:
                log.warning(
                    "Not in the main thread, so %s is not handled.", signal_name(signal_number)
                )
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc_value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        for signal_number, handler in self.previous_handlers.items():
            signal.signal(signal_number, handler)
        self.previous_handlers = {}
        if isinstance(exc_value, SIGTERMException):
            raise self.interruption(signal.SIGTERM) from exc_value

    def handle_signal(self, signal_number: int, frame: FrameType | None) -> None:
        name = signal_name(signal_number)
        if self.received is not None:
            # Log handlers flush every record, so only this line needs to reach the console.
            log.error("Second %s: exiting now without saving a checkpoint.", name)
            os._exit(128 + signal_number)
        self.received = signal_number
        log.warning(
            "Received %s: stopping after the current batch and saving last.ckpt. "
            "Press Ctrl-C again to exit at once without saving.",
            name,
        )

    def interruption(self, signal_number: int) -> TrainingInterrupted:
        where = ""
        if self.trainer is not None:
            where = f" at step {self.trainer.global_step} (epoch {self.trainer.current_epoch})"
        return TrainingInterrupted(
            f"Stopped by {signal_name(signal_number)}{where}.", signal_number
        )

    def setup(self, trainer: pl.Trainer, pl_module: pl.LightningModule, stage: str) -> None:
        self.trainer = trainer

    def stop_if_requested(self) -> None:
        if self.received is not None:
            raise self.interruption(self.received)

    def on_train_batch_start(
        self, trainer: pl.Trainer, pl_module: pl.LightningModule, *args: Any
    ) -> None:
        self.stop_if_requested()

    def on_validation_batch_start(
        self, trainer: pl.Trainer, pl_module: pl.LightningModule, *args: Any
    ) -> None:
        self.stop_if_requested()

    def on_test_batch_start(
        self, trainer: pl.Trainer, pl_module: pl.LightningModule, *args: Any
    ) -> None:
        self.stop_if_requested()

    def checkpoint_dir(self, trainer: pl.Trainer) -> Path:
        callback = trainer.checkpoint_callback
        if isinstance(callback, ModelCheckpoint) and callback.dirpath:
            return Path(callback.dirpath)
        return self.fallback_dir

    # NOTE: tested with one process only. Under DDP, a rank that did not receive the signal
    # keeps training, so the ranks can hang at the barrier inside trainer.save_checkpoint.
    def on_exception(
        self, trainer: pl.Trainer, pl_module: pl.LightningModule, exception: BaseException
    ) -> None:
        if not isinstance(exception, (TrainingInterrupted, SIGTERMException, KeyboardInterrupt)):
            return
        if trainer.state.fn != TrainerFn.FITTING or trainer.global_step == 0:
            return

        name = ModelCheckpoint.CHECKPOINT_NAME_LAST + ModelCheckpoint.FILE_EXTENSION
        callback = trainer.checkpoint_callback
        if isinstance(callback, ModelCheckpoint):
            name = callback.CHECKPOINT_NAME_LAST + callback.FILE_EXTENSION
        path = (self.checkpoint_dir(trainer) / name).resolve()
        trainer.save_checkpoint(path)
        self.checkpoint_path = path
        log.info("Saved a resumable checkpoint at step %d: %s", trainer.global_step, path)
