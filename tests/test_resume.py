"""Resuming train.py from last.ckpt: 2 + 2 epochs equal 4 straight, and the error paths."""

import json
import random
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from fmnist.datamodule import EpochSeededSampler
from fmnist.rng_state import collect_rng_states, restore_rng_states

from conftest import SHORT_TRAINING, TRAIN_SCRIPT, only_run_dir, run_script, tiny_overrides

FOUR_EPOCHS = [item for item in SHORT_TRAINING if "max_epochs" not in item] + [
    "trainer.max_epochs=4"
]
COMPARED = ("test/acc", "test/loss", "val/acc_best", "epochs", "global_step")


def val_curve(run_dir: Path) -> list[tuple[int, float]]:
    events = EventAccumulator(str(run_dir / "tensorboard"))
    events.Reload()
    return [(event.step, event.value) for event in events.Scalars("val/acc")]


@pytest.fixture(scope="module")
def straight_run(tiny_data_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    log_dir = tmp_path_factory.mktemp("straight-logs")
    result = run_script(TRAIN_SCRIPT, *tiny_overrides(tiny_data_dir, log_dir), *FOUR_EPOCHS)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return only_run_dir(log_dir)


@pytest.fixture(scope="module")
def resumed_run(short_runs: tuple[Path, Path], tiny_data_dir: Path) -> Path:
    """Continue the 2-epoch run to 4 epochs, launched from its folder with a relative path."""
    run_dir, _ = short_runs
    log_dir = run_dir.parents[2]
    result = run_script(
        TRAIN_SCRIPT,
        *tiny_overrides(tiny_data_dir, log_dir),
        *FOUR_EPOCHS,
        "ckpt_path=checkpoints/last.ckpt",
        cwd=run_dir,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return run_dir


def test_resume_equals_straight_run(straight_run: Path, resumed_run: Path) -> None:
    straight = json.loads((straight_run / "metrics.json").read_text())
    resumed = json.loads((resumed_run / "metrics.json").read_text())
    for key in COMPARED:
        assert resumed[key] == straight[key], key
    assert Path(resumed["best_checkpoint"]).name == Path(straight["best_checkpoint"]).name


def test_resume_continues_tensorboard_curve(straight_run: Path, resumed_run: Path) -> None:
    assert val_curve(resumed_run) == val_curve(straight_run)


def test_resume_writes_into_original_run(resumed_run: Path) -> None:
    runs = list(resumed_run.parent.iterdir())
    assert runs == [resumed_run]
    assert (resumed_run / "train.log").read_text().count("Test accuracy") == 2


def test_resume_keeps_earlier_outputs(resumed_run: Path) -> None:
    earlier = json.loads((resumed_run / "metrics_after_2_epochs.json").read_text())
    assert earlier["epochs"] == 2
    overrides = (resumed_run / ".hydra" / "overrides.yaml").read_text()
    assert "ckpt_path" not in overrides
    assert len(list((resumed_run / ".hydra").glob("resume_*/config.yaml"))) == 1


def test_resume_missing_checkpoint(tiny_data_dir: Path, tmp_path: Path) -> None:
    result = run_script(
        TRAIN_SCRIPT,
        *tiny_overrides(tiny_data_dir, tmp_path / "logs"),
        "ckpt_path=missing/last.ckpt",
        cwd=tmp_path,
    )
    assert result.returncode == 2
    assert f"Checkpoint not found: {tmp_path / 'missing' / 'last.ckpt'}" in result.stdout
    assert "Fashion-MNIST data" not in result.stdout, "it should fail before loading data"
    assert "Traceback" not in result.stdout + result.stderr


def test_resume_finished_run(short_run: Path, tiny_data_dir: Path, tmp_path: Path) -> None:
    checkpoint = tmp_path / "last.ckpt"
    shutil.copyfile(short_run / "checkpoints" / "last.ckpt", checkpoint)
    result = run_script(
        TRAIN_SCRIPT,
        *tiny_overrides(tiny_data_dir, tmp_path / "logs"),
        *SHORT_TRAINING,
        f"ckpt_path={checkpoint}",
    )
    assert result.returncode == 2
    assert "already reached trainer.max_epochs=2 (completed epochs: 2)" in result.stdout
    assert "Traceback" not in result.stdout + result.stderr


def test_sampler_order_depends_on_epoch_only() -> None:
    sampler = EpochSeededSampler(range(50), seed=7)
    sampler.set_epoch(3)
    first = list(sampler)
    torch.manual_seed(123)
    again = EpochSeededSampler(range(50), seed=7)
    again.set_epoch(3)
    assert list(again) == first
    again.set_epoch(4)
    assert list(again) != first
    assert sorted(first) == list(range(50))


def test_rng_states_round_trip(tmp_path: Path) -> None:
    states = collect_rng_states()
    expected = (random.random(), float(np.random.rand()), float(torch.rand(1)))

    path = tmp_path / "states.pt"
    torch.save(states, path)
    restore_rng_states(torch.load(path, weights_only=True))
    assert (random.random(), float(np.random.rand()), float(torch.rand(1))) == expected
