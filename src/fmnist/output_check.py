"""Hydra callback that checks the run folder can be written before the run starts.

Without it, an unwritable ``paths.log_dir`` surfaces as a traceback from inside Hydra's
``run_job``, which creates the folder before any of this project's code runs.
"""

import sys
import tempfile
from pathlib import Path
from typing import Any

from hydra.experimental.callback import Callback
from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import OmegaConfBaseException

from fmnist.errors import EXIT_USER_ERROR
from fmnist.rundirs import release_unused_dirs


def unwritable_reason(folder: Path) -> str | None:
    """Create ``folder`` and a scratch file in it, and return the reason if either fails."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as error:
        return error.strerror or str(error)
    return None


class OutputDirCheck(Callback):
    """Stop with one line and exit status 2 when the run or sweep folder cannot be written."""

    def check(self, config: DictConfig, key: str) -> None:
        try:
            folder = OmegaConf.select(config, key, throw_on_resolution_failure=True)
        except OmegaConfBaseException:
            return  # The path needs values that only run_job sets, so leave it to Hydra.
        if not folder:
            return
        release_unused_dirs(folder)
        reason = unwritable_reason(Path(folder))
        if reason:
            print(
                f"Error: cannot write the run folder {folder}: {reason}. Set paths.log_dir to "
                "a writable folder with free space.",
                file=sys.stderr,
            )
            sys.exit(EXIT_USER_ERROR)

    def on_run_start(self, config: DictConfig, **kwargs: Any) -> None:
        self.check(config, "hydra.run.dir")

    def on_multirun_start(self, config: DictConfig, **kwargs: Any) -> None:
        self.check(config, "hydra.sweep.dir")
