"""Hydra callback for multiruns: name job folders by the swept parameters, report at the end.

Enabled in ``configs/hydra/default.yaml`` under ``hydra.callbacks``. It runs in the process
that launches the sweep, whichever launcher runs the jobs.
"""

import logging
import sys
from typing import Any

from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.experimental.callback import Callback
from omegaconf import DictConfig, OmegaConf, open_dict, read_write

from fmnist.errors import UserInputError
from fmnist.report import markdown_table, write_report

log = logging.getLogger(__name__)


def fixed_override_keys(config: DictConfig) -> list[str]:
    """Return the keys of command-line overrides that hold one value for the whole sweep.

    Sweeps such as ``lr=0.1,0.01`` or ``choice(...)`` vary, and so do the keys under
    ``hydra.sweeper.params`` (grid and Optuna presets). Everything else, like
    ``trainer.max_epochs=5`` or ``hparams_search=grid``, is the same in every job.
    """
    parser = OverridesParser.create()
    overrides = parser.parse_overrides(list(config.hydra.overrides.task))
    swept = set(OmegaConf.select(config, "hydra.sweeper.params", default=None) or {})
    return sorted(
        override.key_or_group
        for override in overrides
        if not override.is_sweep_override() and override.key_or_group not in swept
    )


class SweepCallback(Callback):
    """Keep job folder names short and write the sweep report when the multirun ends.

    Hydra names each job folder after its overrides (``hydra.job.override_dirname``). Before
    the jobs are composed, this callback excludes the overrides that every job shares, so
    a job of ``-m data.batch_size=32,64 trainer.max_epochs=5`` is named
    ``data.batch_size=32``. When the multirun ends, it writes ``summary.csv``, ``summary.md``
    and ``summary.png`` into the sweep folder and exits with status 1 if a job did not
    complete.
    """

    def on_multirun_start(self, config: DictConfig, **kwargs: Any) -> None:
        fixed = fixed_override_keys(config)
        if not fixed:
            return
        excluded = list(config.hydra.job.config.override_dirname.exclude_keys) + fixed
        quoted = ",".join(f"'{key}'" for key in excluded)
        # Each job's config is composed again from these Hydra overrides, in this process or
        # in a launcher's worker, so setting the value here would not reach the jobs.
        with read_write(config.hydra.overrides), open_dict(config.hydra.overrides):
            config.hydra.overrides.hydra.append(
                f"hydra.job.config.override_dirname.exclude_keys=[{quoted}]"
            )

    def on_multirun_end(self, config: DictConfig, **kwargs: Any) -> None:
        try:
            report = write_report(config.hydra.sweep.dir)
        except UserInputError as error:
            log.warning("No sweep report: %s", error)
            return
        log.info("Sweep summary (%s/summary.md):\n%s", report.sweep_dir, markdown_table(report))
        if report.all_completed:
            return
        unfinished = [job.name for job in report.jobs if job.status != "completed"]
        log.error(
            "%d of %d jobs did not complete: %s. Each job folder's log file has the traceback.",
            len(unfinished),
            len(report.jobs),
            ", ".join(unfinished),
        )
        # Hydra turns exceptions raised in callbacks into warnings, so only SystemExit makes
        # the exit status report the failed jobs.
        sys.exit(1)
