"""Train the Fashion-MNIST classifier, then test its best checkpoint.

    python src/fmnist/train.py trainer.max_epochs=10
    python src/fmnist/train.py data.batch_size=256 model.optimizer.lr=0.003 seed=7
"""

import json
import logging
import sys
import time
from pathlib import Path
from typing import Any

import hydra
import pytorch_lightning as pl
from hydra.utils import instantiate
from omegaconf import DictConfig
from pytorch_lightning.callbacks import ProgressBar

import fmnist  # noqa: F401  (registers the config resolvers before Hydra composes)
from fmnist.cpu import set_cpu_threads
from fmnist.errors import UserInputError

log = logging.getLogger(__name__)


def build_list(group: DictConfig | None) -> list[Any]:
    """Instantiate every entry of a config group such as ``callbacks`` or ``logger``."""
    if not group:
        return []
    return [instantiate(entry) for entry in group.values() if entry and "_target_" in entry]


def train(cfg: DictConfig) -> dict[str, Any]:
    """Fit, test the best checkpoint, write ``metrics.json`` and return the final metrics."""
    started = time.perf_counter()
    output_dir = Path(cfg.paths.output_dir)
    pl.seed_everything(cfg.seed, workers=True)
    set_cpu_threads(cfg.get("cpu_threads"))

    datamodule = instantiate(cfg.data)
    model = instantiate(cfg.model)
    callbacks = build_list(cfg.get("callbacks"))
    if not cfg.trainer.get("enable_progress_bar", True):
        # trainer.enable_progress_bar=false wins over the bar in the callbacks group.
        callbacks = [callback for callback in callbacks if not isinstance(callback, ProgressBar)]
    trainer = instantiate(cfg.trainer, callbacks=callbacks, logger=build_list(cfg.get("logger")))

    trainer.fit(model, datamodule=datamodule, ckpt_path=cfg.get("ckpt_path"))

    checkpoint = trainer.checkpoint_callback
    best_path = checkpoint.best_model_path if checkpoint is not None else ""
    if best_path:
        log.info("Testing the best checkpoint %s", best_path)
    else:
        log.info("No checkpoint was saved, so the test uses the final weights.")
    test_results = trainer.test(model, datamodule=datamodule, ckpt_path=best_path or None)[0]

    metrics = {
        "test/acc": test_results.get("test/acc"),
        "test/loss": test_results.get("test/loss"),
        "val/acc_best": float(model.val_acc_best.compute()),
        "epochs": trainer.current_epoch,
        "global_step": trainer.global_step,
        "wall_time_s": round(time.perf_counter() - started, 2),
        "best_checkpoint": best_path or None,
        "status": "completed",
    }
    if trainer.is_global_zero:
        (output_dir / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n")
        log.info(
            "Test accuracy %.4f (loss %.4f); best val/acc %.4f",
            metrics["test/acc"],
            metrics["test/loss"],
            metrics["val/acc_best"],
        )
        log.info("Run folder: %s", output_dir)
        log.info("TensorBoard: tensorboard --logdir %s", output_dir)
    return metrics


@hydra.main(version_base="1.3", config_path="../../configs", config_name="train")
def main(cfg: DictConfig) -> float:
    """Hydra entry point; returns ``val/acc_best`` for sweepers to optimize."""
    try:
        metrics = train(cfg)
    except UserInputError as error:
        log.error("%s", error)
        sys.exit(2)
    return metrics["val/acc_best"]


if __name__ == "__main__":
    main()
