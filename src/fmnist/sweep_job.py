"""One job of a Hydra multirun: a failure is recorded in its folder instead of ending the sweep.

Hydra's launchers run every job of a batch. With Hydra's basic sweeper, though, a job that
raises makes the sweeper raise after the batch, so the sweep report is never written, and
``sys.exit`` even stops the jobs still to come. Here a failing job logs its traceback to its
own log file and writes ``metrics.json`` with ``status: failed`` and the reason. Under the
basic sweeper it then returns NaN, and the sweep callback exits non-zero once every job has
run. Other sweepers get the exception, because they handle failed jobs themselves: Optuna
marks the trial failed and goes on while ``hydra.sweeper.max_failure_rate`` allows.
"""

import json
import logging
import math
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from hydra.core.hydra_config import HydraConfig
from hydra.types import RunMode
from omegaconf import DictConfig

from fmnist.errors import TrainingInterrupted

log = logging.getLogger(__name__)

OBJECTIVE = "val/acc_best"


def in_multirun() -> bool:
    """Return True inside a job that Hydra launched with ``-m`` or ``hydra.mode=MULTIRUN``."""
    return HydraConfig.initialized() and HydraConfig.get().mode == RunMode.MULTIRUN


def basic_sweeper() -> bool:
    """Return True when Hydra's own sweeper (the grid of the ``-m a=1,2`` syntax) runs the jobs."""
    return str(HydraConfig.get().sweeper.get("_target_", "")).endswith(".BasicSweeper")


def available_cores() -> int:
    """Return the CPU cores this process may run on (the affinity mask, where the OS has one)."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def parallel_jobs(launcher: DictConfig, cores: int) -> int:
    """Return how many jobs a launcher runs at once: joblib's ``n_jobs``, else one."""
    if "joblib" not in str(launcher.get("_target_", "")).lower():
        return 1
    n_jobs = int(launcher.get("n_jobs") or 1)
    # joblib counts negative values back from the core count: -1 means all cores.
    if n_jobs < 0:
        n_jobs = cores + 1 + n_jobs
    return max(1, min(n_jobs, cores))


def limit_torch_threads() -> None:
    """Share the cores between jobs that run at once, so they do not oversubscribe them."""
    cores = available_cores()
    jobs = parallel_jobs(HydraConfig.get().launcher, cores)
    if jobs == 1:
        return
    threads = max(1, cores // jobs)
    torch.set_num_threads(threads)
    log.info(
        "%d jobs run at once on %d cores; torch threads for this job: %d", jobs, cores, threads
    )


def write_failure(output_dir: Path, error: BaseException, wall_time_s: float) -> None:
    """Record a failed job in ``metrics.json``, keeping any metrics the job wrote before."""
    path = output_dir / "metrics.json"
    record: dict[str, Any] = {}
    if path.is_file():
        record = json.loads(path.read_text())
    reason = " ".join(f"{type(error).__name__}: {error}".split())
    record.update({"status": "failed", "reason": reason, "wall_time_s": round(wall_time_s, 2)})
    record.setdefault(OBJECTIVE, None)
    path.write_text(json.dumps(record, indent=2) + "\n")


def run_sweep_job(train: Callable[[DictConfig], dict[str, Any]], cfg: DictConfig) -> float:
    """Run ``train`` as one sweep job and return ``val/acc_best``.

    A failed job returns NaN under the basic sweeper and re-raises under any other.
    """
    limit_torch_threads()
    started = time.perf_counter()
    try:
        metrics = train(cfg)
    except TrainingInterrupted as error:
        # Ctrl-C or SIGTERM stops the whole sweep; this job's folder already holds its resume
        # command, and fmnist-report rebuilds the summary from the finished jobs.
        log.error("%s", error)
        sys.exit(error.exit_status)
    except Exception as error:
        log.error("Job failed: %s: %s", type(error).__name__, error, exc_info=error)
        write_failure(Path(cfg.paths.output_dir), error, time.perf_counter() - started)
        if not basic_sweeper():
            raise
        return math.nan
    return metrics[OBJECTIVE]
