"""Multi-process (DDP) runs: exact evaluation sharding and checks on how processes start.

Lightning's DDP strategy starts the extra processes itself. On one machine it re-runs this
script once per extra device with the parent's argv plus ``hydra.run.dir=<parent run folder>``,
so every rank writes into the same run folder. On SLURM, ``srun`` starts one process per task
and Lightning reads the ranks from SLURM's environment variables.
"""

import warnings

import pytorch_lightning as pl
from hydra.core.hydra_config import HydraConfig
from hydra.types import RunMode
from pytorch_lightning.overrides.distributed import UnrepeatedDistributedSampler
from pytorch_lightning.strategies.launchers.subprocess_script import _SubprocessScriptLauncher
from pytorch_lightning.utilities.warnings import PossibleUserWarning
from torch.utils.data import Dataset, DistributedSampler

from fmnist.errors import DataError, UserInputError


def evaluation_sampler(dataset: Dataset, trainer: pl.Trainer | None) -> DistributedSampler | None:
    """Return a sampler that gives each process a disjoint share of ``dataset``, or None.

    Lightning's default DistributedSampler pads a data set by repeating samples until every
    process has the same count, so accuracy and the confusion matrix would count those
    samples twice. Here the shares differ by at most one sample and nothing repeats. Lightning
    keeps a loader's sampler when it already is a DistributedSampler, so training loaders
    still get Lightning's shuffling, padded sampler.
    """
    if trainer is None or trainer.world_size <= 1:
        return None

    if len(dataset) < trainer.world_size:
        raise DataError(
            f"An evaluation set of {len(dataset)} samples cannot be split across "
            f"{trainer.world_size} processes; use fewer devices or more samples."
        )
    return UnrepeatedDistributedSampler(
        dataset, num_replicas=trainer.world_size, rank=trainer.global_rank, shuffle=False
    )


def configure_distributed(trainer: pl.Trainer) -> None:
    """Reject DDP launches that cannot work here and silence advice that does not apply.

    Call it in every process, right after the trainer is built.
    """
    reject_relaunch_in_multirun(trainer)

    # The logged metrics come from torchmetrics objects, which already sum their state over
    # all processes in compute(), so Lightning's advice to add sync_dist=True does not apply.
    warnings.filterwarnings(
        "ignore",
        message=r"It is recommended to use `self\.log\('(train|val|test)/",
        category=PossibleUserWarning,
    )


def reject_relaunch_in_multirun(trainer: pl.Trainer) -> None:
    """Raise if Lightning would re-run the script for extra processes inside a Hydra multirun.

    The re-run repeats the whole sweep command line, so each extra process would start a sweep
    of its own instead of joining the job. On SLURM the processes come from ``srun``, so
    Lightning re-runs nothing and this check passes.
    """
    # NOTE: _SubprocessScriptLauncher is private in pytorch-lightning 2.6 and may move in
    # later versions; it is the launcher that re-runs the script for each extra device.
    launcher = trainer.strategy.launcher
    if not isinstance(launcher, _SubprocessScriptLauncher) or launcher.num_processes <= 1:
        return
    if launcher.cluster_environment.creates_processes_externally:
        return
    if not HydraConfig.initialized() or HydraConfig.get().mode != RunMode.MULTIRUN:
        return

    raise UserInputError(
        f"Invalid trainer.devices={launcher.num_processes} inside a Hydra multirun on one "
        "machine: Lightning's DDP launcher would re-run the whole sweep in each extra process. "
        "Start multi-device runs one at a time without -m, or sweep them on SLURM with "
        "hydra/launcher=slurm, where srun starts the processes."
    )
