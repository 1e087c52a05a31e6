"""Reference (c) instrumentation: a callback that times ``train.py`` from the inside.

Added to a run with Hydra overrides, so ``train.py`` itself stays unchanged::

    python src/fmnist/train.py +callbacks.epoch_clock._target_=epoch_clock.EpochClock \
        +callbacks.epoch_clock.record_path=c.jsonl   # with benchmarks/ on PYTHONPATH

An epoch's training time runs from ``on_train_epoch_start`` to the start of its validation
(or to ``on_train_epoch_end`` without one), so validation and checkpointing are left out of
the throughput but stay in ``elapsed_s``. After each epoch the callback measures test accuracy
for the accuracy curve; that evaluation is left out of ``elapsed_s``.
"""

import time

import pytorch_lightning as pl
from records import RecordWriter, accuracy, launched_at, peak_rss_mib


class EpochClock(pl.Callback):
    def __init__(self, record_path: str) -> None:
        self.records = RecordWriter(record_path)
        self.started = launched_at()
        self.evaluation_s = 0.0
        self.epoch_started = 0.0
        self.epoch_cpu_started = 0.0
        self.train_s: float | None = None
        self.train_cpu_s: float | None = None
        self.images = 0

    def on_train_epoch_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self.epoch_started = time.perf_counter()
        self.epoch_cpu_started = time.process_time()
        self.train_s = None
        self.train_cpu_s = None
        self.images = 0

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        self.images += len(batch[1])

    def on_validation_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if not trainer.sanity_checking and self.train_s is None:
            self.stop_train_clock()

    def stop_train_clock(self) -> None:
        self.train_s = time.perf_counter() - self.epoch_started
        self.train_cpu_s = time.process_time() - self.epoch_cpu_started

    def on_train_epoch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if self.train_s is None:
            self.stop_train_clock()

        val_acc = trainer.callback_metrics.get("val/acc")
        evaluation_started = time.perf_counter()
        test_acc = accuracy(pl_module, self.test_batches(trainer, pl_module))
        self.evaluation_s += time.perf_counter() - evaluation_started
        self.records.write(
            kind="epoch",
            epoch=trainer.current_epoch,
            images=self.images,
            train_s=self.train_s,
            train_cpu_s=self.train_cpu_s,
            test_acc=test_acc,
            val_acc=None if val_acc is None else float(val_acc),
            elapsed_s=time.time() - self.started - self.evaluation_s,
        )

    def on_test_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self.records.write(
            kind="end", elapsed_s=time.time() - self.started, peak_rss_mib=peak_rss_mib()
        )

    @staticmethod
    def test_batches(trainer: pl.Trainer, pl_module: pl.LightningModule):
        """Yield test batches the way the datamodule prepares them for the model."""
        datamodule = trainer.datamodule
        datamodule.setup("test")
        for batch in datamodule.test_dataloader():
            batch = pl_module.transfer_batch_to_device(batch, pl_module.device, 0)
            yield datamodule.on_after_batch_transfer(batch, 0)
