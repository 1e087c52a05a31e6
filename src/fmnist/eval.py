"""Evaluate a checkpoint on the official Fashion-MNIST test set.

    python src/fmnist/eval.py ckpt_path=logs/train/runs/<run>/checkpoints/epoch_009.ckpt

Writes ``metrics.json`` (accuracy, loss, per-class precision, recall and F1), the confusion
matrix heatmap and a grid of the most confident mistakes into the run folder
``logs/eval/runs/<date>_<time>/``, and logs the same to TensorBoard.
"""

import json
import logging
import sys
from pathlib import Path
from typing import Any

import hydra
import pytorch_lightning as pl
from omegaconf import DictConfig
from pytorch_lightning.loggers import TensorBoardLogger
from torch.utils.tensorboard import SummaryWriter

import fmnist  # noqa: F401  (registers the config resolvers before Hydra composes)
from fmnist.checkpoints import load_classifier
from fmnist.class_report import format_markdown, format_table, macro_average, per_class_metrics
from fmnist.classes import CLASS_NAMES
from fmnist.command_line import one_line_errors
from fmnist.cpu import set_cpu_threads
from fmnist.errors import UserInputError
from fmnist.instantiation import build, build_list
from fmnist.mistakes import ConfidentMistakes

log = logging.getLogger(__name__)


def tensorboard_writer(trainer: pl.Trainer) -> SummaryWriter | None:
    for logger in trainer.loggers:
        if isinstance(logger, TensorBoardLogger):
            return logger.experiment
    return None


def evaluate(cfg: DictConfig) -> dict[str, Any]:
    """Test the checkpoint, write the reports and return the metrics written to metrics.json."""
    output_dir = Path(cfg.paths.output_dir)
    set_cpu_threads(cfg.get("cpu_threads"))
    model, ckpt_path = load_classifier(cfg.get("ckpt_path"))
    log.info("Evaluating %s", ckpt_path)

    datamodule = build(cfg.data, "data")
    mistakes = ConfidentMistakes(count=cfg.mistakes)
    callbacks = [*build_list(cfg.get("callbacks"), "callbacks"), mistakes]
    loggers = build_list(cfg.get("logger"), "logger")
    trainer = build(cfg.trainer, "trainer", callbacks=callbacks, logger=loggers)
    results = trainer.test(model, datamodule=datamodule)[0]

    matrix = model.test_cm.compute().cpu()
    report = per_class_metrics(matrix, CLASS_NAMES)
    metrics = {
        "checkpoint": str(ckpt_path),
        "test/acc": results["test/acc"],
        "test/loss": results["test/loss"],
        "num_samples": int(matrix.sum()),
        "macro_average": macro_average(report),
        "per_class": report,
        "confusion_matrix": matrix.tolist(),
        "confident_mistakes": mistakes.best.as_records() if mistakes.best else [],
    }
    if not trainer.is_global_zero:
        return metrics

    (output_dir / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n")
    log.info("Per-class results:\n%s", format_table(report, metrics["test/acc"]))
    writer = tensorboard_writer(trainer)
    if writer is not None:
        writer.add_text("test/per_class", format_markdown(report), global_step=0)
        for key, value in metrics["macro_average"].items():
            writer.add_scalar(f"test/{key}_macro", value, global_step=0)
    if mistakes.best is not None:
        figure = mistakes.best.figure()
        figure.savefig(output_dir / "confident_mistakes.png", dpi=100)
        if writer is not None:
            writer.add_figure("test/confident_mistakes", figure, global_step=0)
    if writer is not None:
        writer.flush()
    log.info("Run folder: %s", output_dir)
    return metrics


@one_line_errors("eval")
@hydra.main(version_base="1.3", config_path="../../configs", config_name="eval")
def main(cfg: DictConfig) -> None:
    try:
        evaluate(cfg)
    except UserInputError as error:
        log.error("%s", error)
        sys.exit(2)


if __name__ == "__main__":
    main()
