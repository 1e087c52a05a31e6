"""Record a run that stopped early: ``metrics.json``, the reason, and how to resume."""

import json
import logging
import re
import shlex
import sys
from pathlib import Path
from typing import Any

import pytorch_lightning as pl
from hydra.core.hydra_config import HydraConfig
from pytorch_lightning.callbacks import ModelCheckpoint

from fmnist.atomic import write_text_atomically
from fmnist.errors import TrainingInterrupted, TrainingStopped

log = logging.getLogger(__name__)

# Characters that are safe unquoted in a Hydra override value: a subset of what its grammar
# allows, without `~`, `=` and `,`.
UNQUOTED_VALUE = re.compile(r"[\w/.:+\-@%*?|]*", re.ASCII)


def command_line_overrides() -> list[str]:
    """Return this job's overrides: the sweep values for a multirun job, else the command line."""
    if HydraConfig.initialized():
        return list(HydraConfig.get().overrides.task)
    return [argument for argument in sys.argv[1:] if not argument.startswith("-")]


def hydra_value(text: str) -> str:
    """Return ``text`` as a Hydra override value, in quotes if it contains special characters."""
    if UNQUOTED_VALUE.fullmatch(text):
        return text
    escaped = text.replace("'", "\\'")
    return f"'{escaped}'"


def resume_command(checkpoint: Path) -> str:
    """Return the shell command that resumes this run from ``checkpoint``."""
    overrides = [
        override
        for override in command_line_overrides()
        if override.lstrip("+~").split("=", 1)[0] != "ckpt_path"
    ]
    script = sys.argv[0]
    launcher = ["python", script] if script.endswith(".py") else [script]
    return shlex.join([*launcher, f"ckpt_path={hydra_value(str(checkpoint))}", *overrides])


def saved_checkpoints(trainer: pl.Trainer) -> tuple[str | None, str | None]:
    """Return the best and the last checkpoint paths that the ModelCheckpoint callbacks wrote."""
    best = None
    last = None
    for callback in trainer.checkpoint_callbacks:
        if not isinstance(callback, ModelCheckpoint):
            continue
        if callback.monitor is None:
            # A callback without a metric keeps only its newest file: that is last.ckpt.
            last = callback.best_model_path or last
        elif best is None:
            best = callback.best_model_path or None
        last = callback.last_model_path or last
    return best, last


def record_stopped_run(
    output_dir: Path,
    trainer: pl.Trainer,
    error: TrainingStopped,
    checkpoint: Path | None,
    wall_time_s: float,
) -> dict[str, Any]:
    """Log why training stopped, write ``metrics.json`` with that status, and return it.

    ``checkpoint`` is the resumable checkpoint saved on interruption. When it is None, the
    ModelCheckpoint's ``last.ckpt`` is offered instead.
    """
    best, last = saved_checkpoints(trainer)
    if checkpoint is not None:
        last = str(checkpoint)

    metrics: dict[str, Any] = {
        "status": error.status,
        "reason": str(error),
        "epochs": trainer.current_epoch,
        "global_step": trainer.global_step,
        "wall_time_s": round(wall_time_s, 2),
        "best_checkpoint": best,
        "last_checkpoint": last,
    }
    command = None
    if isinstance(error, TrainingInterrupted) and last:
        command = resume_command(Path(last))
        metrics["resume_command"] = command

    if not trainer.is_global_zero:
        return metrics

    log.error("%s", error)
    if command:
        log.warning("No test was run. To resume training from %s, run:\n%s", last, command)
    elif isinstance(error, TrainingInterrupted):
        log.warning("No optimizer step was completed, so there is nothing to resume; start again.")
    elif last:
        log.info("The last checkpoint from before the failure is %s", last)

    try:
        write_text_atomically(output_dir / "metrics.json", json.dumps(metrics, indent=2) + "\n")
    except OSError as write_error:
        log.error("Cannot write %s: %s", output_dir / "metrics.json", write_error)
    return metrics
