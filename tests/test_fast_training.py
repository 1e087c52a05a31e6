"""train.py with the speed settings: the experiment config, the torchvision path, CPU threads."""

import json
from pathlib import Path

import pytest
import torch

from fmnist.cpu import set_cpu_threads
from fmnist.errors import UserInputError

from conftest import (
    EVAL_SCRIPT,
    PREDICT_SCRIPT,
    TINY_TRAIN,
    TINY_VAL,
    TRAIN_SCRIPT,
    only_run_dir,
    run_script,
    tiny_overrides,
)

BATCH_SIZE = 50  # set by tiny_overrides, which the command line applies over the experiment


def test_best_experiment_runs_tiny_epoch(tiny_data_dir: Path, tmp_path: Path) -> None:
    result = run_script(
        TRAIN_SCRIPT,
        "experiment=fmnist_best",
        *tiny_overrides(tiny_data_dir, tmp_path),
        "trainer.max_epochs=1",
    )
    assert result.returncode == 0, result.stderr[-3000:]
    run_dir = only_run_dir(tmp_path)
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert metrics["status"] == "completed"

    # OneCycleLR's total_steps is null in the config; the classifier fills in the run length.
    checkpoint = torch.load(run_dir / "checkpoints" / "last.ckpt", weights_only=False)
    scheduler = checkpoint["lr_schedulers"][0]
    assert scheduler["total_steps"] == (TINY_TRAIN - TINY_VAL) // BATCH_SIZE
    assert checkpoint["hyper_parameters"]["channels_last"] is True
    assert checkpoint["hyper_parameters"]["tta_hflip"] is True
    assert checkpoint["hyper_parameters"]["net"]["channels"] == [64, 128]


def test_torchvision_pipeline_trains(tiny_data_dir: Path, tmp_path: Path) -> None:
    result = run_script(
        TRAIN_SCRIPT,
        *tiny_overrides(tiny_data_dir, tmp_path),
        "data.pipeline=torchvision",
        "data.augment.hflip=true",
        "data.augment.max_shift=2",
        "cpu_threads=1",
        "trainer.max_epochs=2",
        # Overrides tiny_overrides, so the progress bar from the callbacks group runs too.
        "trainer.enable_progress_bar=true",
    )
    assert result.returncode == 0, result.stderr[-3000:]
    metrics = json.loads((only_run_dir(tmp_path) / "metrics.json").read_text())
    assert metrics["epochs"] == 2
    assert metrics["val/acc_best"] > 0.3, "the banded synthetic classes should be learnable"
    assert "CPU threads for torch: 1" in result.stdout + result.stderr
    assert "Epoch 1: 100%" in result.stdout, "the progress bar should draw the last epoch"


@pytest.mark.parametrize(
    "script",
    [(EVAL_SCRIPT,), (PREDICT_SCRIPT, "inputs=missing.png"), ("-m", "fmnist.export")],
    ids=["eval", "predict", "export"],
)
def test_tools_reject_bad_cpu_threads(script: tuple[str, ...], tmp_path: Path) -> None:
    result = run_script(
        *script, "ckpt_path=missing.ckpt", "cpu_threads=0", f"paths.log_dir={tmp_path}"
    )
    output = result.stdout + result.stderr
    assert result.returncode == 2, output[-3000:]
    assert "Invalid cpu_threads=0" in output
    assert "Traceback" not in output


@pytest.mark.parametrize("count", [0, -1, 1.5, True])
def test_cpu_threads_invalid_raise(count) -> None:
    with pytest.raises(UserInputError, match=f"Invalid cpu_threads={count!r}"):
        set_cpu_threads(count)
