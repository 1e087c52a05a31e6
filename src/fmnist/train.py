"""Train the Fashion-MNIST classifier, then test its best checkpoint.

python src/fmnist/train.py trainer.max_epochs=10
python src/fmnist/train.py data.batch_size=256 model.optimizer.lr=0.003 seed=7
python src/fmnist/train.py -m data.batch_size=32,128 model.optimizer.lr=0.01,0.001
python src/fmnist/train.py ckpt_path=logs/train/runs/<run>/checkpoints/last.ckpt \
    trainer.max_epochs=20
"""

import json
import logging
import signal
import sys
import time
from pathlib import Path
from typing import Any

import hydra
import pytorch_lightning as pl
from omegaconf import DictConfig
from pytorch_lightning.callbacks import ProgressBar
from pytorch_lightning.utilities.exceptions import MisconfigurationException

import fmnist  # noqa: F401  (registers the config resolvers before Hydra composes)
from fmnist.atomic import write_text_atomically
from fmnist.checkpoint_io import use_atomic_checkpoints
from fmnist.command_line import one_line_errors
from fmnist.config_check import check_config
from fmnist.cpu import set_cpu_threads
from fmnist.distributed import configure_distributed
from fmnist.errors import ConfigError, TrainingStopped, UserInputError
from fmnist.hparams import log_hparams
from fmnist.instantiation import build, build_list, one_line
from fmnist.interrupts import GracefulStop
from fmnist.loss_check import NonFiniteLossCheck
from fmnist.resume import prepare_resume
from fmnist.stopped_run import record_stopped_run
from fmnist.sweep_job import in_multirun, run_sweep_job

log = logging.getLogger(__name__)


def train(cfg: DictConfig) -> dict[str, Any]:
    """Fit, test the best checkpoint, write ``metrics.json`` and return the final metrics."""
    check_config(cfg)
    started = time.perf_counter()
    output_dir = Path(cfg.paths.output_dir)
    resume_path = prepare_resume(cfg, output_dir)
    pl.seed_everything(cfg.seed, workers=True)
    set_cpu_threads(cfg.get("cpu_threads"))

    datamodule = build(cfg.data, "data")
    model = build(cfg.model, "model")
    stop = GracefulStop(output_dir / "checkpoints")
    callbacks = build_list(cfg.get("callbacks"), "callbacks")
    if not cfg.trainer.get("enable_progress_bar", True):
        # trainer.enable_progress_bar=false wins over the bar in the callbacks group.
        callbacks = [callback for callback in callbacks if not isinstance(callback, ProgressBar)]
    callbacks += [NonFiniteLossCheck(), stop]
    trainer = build(
        cfg.trainer, "trainer", callbacks=callbacks, logger=build_list(cfg.get("logger"), "logger")
    )
    use_atomic_checkpoints(trainer)
    configure_distributed(trainer)

    try:
        with stop:
            trainer.fit(model, datamodule=datamodule, ckpt_path=resume_path, weights_only=True)

            checkpoint = trainer.checkpoint_callback
            best_path = checkpoint.best_model_path if checkpoint is not None else ""
            if best_path:
                log.info("Testing the best checkpoint %s", best_path)
            else:
                log.info("No checkpoint was saved, so the test uses the final weights.")
            results = trainer.test(
                model, datamodule=datamodule, ckpt_path=best_path or None, weights_only=True
            )
            test_results = results[0]
            log_hparams(trainer, cfg)
    except TrainingStopped as error:
        elapsed = time.perf_counter() - started
        record_stopped_run(output_dir, trainer, error, stop.checkpoint_path, elapsed)
        raise
    except MisconfigurationException as error:
        raise ConfigError(f"Invalid trainer config: {one_line(error)}") from error

    metrics = {
        "test/acc": test_results.get("test/acc"),
        "test/loss": test_results.get("test/loss"),
        "val/acc_best": float(model.val_acc_best.compute()),
        # Samples evaluated, summed over processes: the full set unless limit_*_batches is set.
        "test/samples": int(model.test_cm.compute().sum()),
        "val/samples": int(model.val_cm.compute().sum()),
        "epochs": trainer.current_epoch,
        "global_step": trainer.global_step,
        "wall_time_s": round(time.perf_counter() - started, 2),
        "best_checkpoint": best_path or None,
        "status": "completed",
    }
    if trainer.is_global_zero:
        write_text_atomically(output_dir / "metrics.json", json.dumps(metrics, indent=2) + "\n")
        log.info(
            "Test accuracy %.4f (loss %.4f); best val/acc %.4f",
            metrics["test/acc"],
            metrics["test/loss"],
            metrics["val/acc_best"],
        )
        log.info("Run folder: %s", output_dir)
        log.info("TensorBoard: tensorboard --logdir %s", output_dir)
    return metrics


@one_line_errors("train")
@hydra.main(version_base="1.3", config_path="../../configs", config_name="train")
def main(cfg: DictConfig) -> float:
    """Hydra entry point; returns ``val/acc_best`` for sweepers to optimize.

    Exit status: 2 for a bad setting or file, 3 when the loss turned NaN or infinite, and
    128 + the signal number when SIGINT (130) or SIGTERM (143) stopped training. In a sweep,
    a failed job is recorded in its folder and the others still run.
    """
    if in_multirun():
        return run_sweep_job(train, cfg)
    try:
        metrics = train(cfg)
    except UserInputError as error:
        log.error("%s", error)
        sys.exit(2)
    except KeyboardInterrupt:
        # GracefulStop handles Ctrl-C during training, so this is still the startup phase.
        log.warning("Interrupted before training started, so there is nothing to resume.")
        sys.exit(128 + signal.SIGINT)
    except TrainingStopped as error:
        sys.exit(error.exit_status)
    return metrics["val/acc_best"]


if __name__ == "__main__":
    main()
