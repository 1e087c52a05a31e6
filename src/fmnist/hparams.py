"""Hyperparameters and final metrics for TensorBoard's HParams tab, written once per run.

The HParams tab shows, for each run, the hyperparameters from a ``session_start_info``
summary and, for each metric named in the ``experiment`` summary, the last value of the
scalar with that tag in the same run. The run's own ``val/acc_best``, ``test/acc`` and
``test/loss`` scalars therefore fill the table, so this module writes no metric values.
Lightning's ``TensorBoardLogger.log_hyperparams(params, metrics)`` would also log the metrics
again as scalars at step 0, which adds a bogus first point to every curve.
"""

import logging
from collections.abc import Mapping
from typing import Any

import pytorch_lightning as pl
from omegaconf import DictConfig, OmegaConf
from pytorch_lightning.loggers import TensorBoardLogger
from torch.utils.tensorboard.summary import hparams as hparams_summaries

log = logging.getLogger(__name__)

# Config sections that describe the experiment; paths, callbacks and loggers do not.
SECTIONS = ("seed", "data", "model", "trainer")
# Keys that set where files are or how progress is displayed, not how the model is trained,
# and the data module and Trainer classes, which never change.
SKIPPED_KEYS = {
    "data",
    "data.data_dir",
    "data.system_dirs",
    "data.download",
    "trainer",
    "trainer.default_root_dir",
    "trainer.enable_progress_bar",
    "trainer.log_every_n_steps",
}
# Scalars logged by the LightningModule that the HParams tab shows next to the hyperparameters.
METRICS = ("val/acc_best", "val/acc", "val/loss", "test/acc", "test/loss")


def hparam_value(value: Any) -> int | float | str:
    """Return a value the HParams plugin accepts: a number, or else its string form.

    Booleans become ``"True"``/``"False"``, since torch's ``hparams`` would store them as 1.0
    and 0.0.
    """
    if isinstance(value, int | float) and not isinstance(value, bool):
        return value
    return str(value)


def flatten(config: Mapping, prefix: str = "") -> dict[str, int | float | str]:
    """Flatten nested config into dotted keys with plain values.

    A ``_target_`` entry becomes the value of its parent key (``model.optimizer`` ->
    ``torch.optim.Adam``), lists become strings such as ``[6, 12]``, and ``None`` becomes
    ``"None"``, so a scheduler that is off still has a column.
    """
    flat: dict[str, int | float | str] = {}
    for key, value in config.items():
        name = f"{prefix}{key}"
        if key == "_target_":
            flat[prefix.rstrip(".") or key] = str(value)
        elif isinstance(key, str) and key.startswith("_") and key.endswith("_"):
            continue
        elif isinstance(value, Mapping):
            flat.update(flatten(value, prefix=f"{name}."))
        else:
            flat[name] = hparam_value(value)
    return flat


def experiment_hparams(cfg: DictConfig) -> dict[str, int | float | str]:
    """Return the run's hyperparameters from its composed config, flattened for TensorBoard."""
    # Each section is resolved in place, so interpolations into other sections still work.
    plain = {
        key: OmegaConf.to_container(cfg[key], resolve=True)
        if OmegaConf.is_config(cfg[key])
        else cfg[key]
        for key in SECTIONS
        if key in cfg
    }
    return {key: value for key, value in flatten(plain).items() if key not in SKIPPED_KEYS}


def log_hparams(trainer: pl.Trainer, cfg: DictConfig) -> None:
    """Write the HParams summaries to every TensorBoard logger of the run, on rank zero."""
    if not trainer.is_global_zero:
        return
    loggers = [logger for logger in trainer.loggers if isinstance(logger, TensorBoardLogger)]
    if not loggers:
        return

    params = experiment_hparams(cfg)
    # Only the keys of the metric dict are written: they name the scalars to show.
    summaries = hparams_summaries(params, dict.fromkeys(METRICS, 0.0))
    for logger in loggers:
        # SummaryWriter has no public call that writes a prepared summary into its own run
        # folder; Lightning's TensorBoardLogger uses this one as well.
        writer = logger.experiment._get_file_writer()
        for summary in summaries:
            writer.add_summary(summary)
        writer.flush()
    log.info("Logged %d hyperparameters for TensorBoard's HParams tab", len(params))
