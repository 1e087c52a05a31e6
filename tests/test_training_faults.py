"""Divergence, interruption and unwritable folders: real runs of train.py, plus unit checks."""

import ctypes
import json
import os
import shlex
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from hydra.core.override_parser.overrides_parser import OverridesParser
from omegaconf import OmegaConf
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from fmnist import interrupts
from fmnist.interrupts import GracefulStop
from fmnist.stopped_run import hydra_value

from conftest import (
    TINY_TRAIN,
    TINY_VAL,
    TRAIN_SCRIPT,
    only_run_dir,
    run_script,
    start_script,
    tiny_overrides,
)

# Small batches make an epoch long enough that a signal lands inside it.
SIGNAL_BATCH = 10
STEPS_PER_EPOCH = (TINY_TRAIN - TINY_VAL) // SIGNAL_BATCH
DIVERGE_BATCH = 50
DIVERGE_STEPS_PER_EPOCH = (TINY_TRAIN - TINY_VAL) // DIVERGE_BATCH
# Multiplies the learning rate by 1e30 after the first epoch, which overflows float32 weights.
# The default cosine scheduler is cleared first, so the new one does not merge into it.
EXPLODING_SCHEDULER = (
    "model.scheduler=null",
    "++model.scheduler={_target_:torch.optim.lr_scheduler.StepLR,_partial_:true,"
    "step_size:1,gamma:1e30}",
)


def fast_overrides(data_dir: Path, log_dir: Path) -> list[str]:
    """The tiny-data overrides without the confusion-matrix heatmaps, which cost most time."""
    return [*tiny_overrides(data_dir, log_dir), "~callbacks.confusion_matrix"]


def read_metrics(run_dir: Path) -> dict:
    return json.loads((run_dir / "metrics.json").read_text())


def all_finite(checkpoint_path: str | Path) -> bool:
    state = torch.load(checkpoint_path, map_location="cpu", weights_only=False)["state_dict"]
    return all(
        torch.isfinite(tensor).all() for tensor in state.values() if tensor.is_floating_point()
    )


@pytest.fixture(scope="module")
def diverged_run(tiny_data_dir: Path, tmp_path_factory: pytest.TempPathFactory):
    log_dir = tmp_path_factory.mktemp("diverged")
    result = run_script(
        TRAIN_SCRIPT,
        *fast_overrides(tiny_data_dir, log_dir),
        f"data.batch_size={DIVERGE_BATCH}",
        "trainer.max_epochs=3",
        *EXPLODING_SCHEDULER,
    )
    return result, only_run_dir(log_dir)


def test_nan_loss_stops_run(diverged_run) -> None:
    result, run_dir = diverged_run
    metrics = read_metrics(run_dir)
    assert result.returncode == 3, result.stderr[-3000:]
    assert metrics["status"] == "failed"
    assert "test/acc" not in metrics
    assert DIVERGE_STEPS_PER_EPOCH < metrics["global_step"] <= 2 * DIVERGE_STEPS_PER_EPOCH


def test_nan_loss_message_names_step_and_lr(diverged_run) -> None:
    result, run_dir = diverged_run
    metrics = read_metrics(run_dir)
    assert metrics["reason"].startswith("Training loss is ")
    assert f"at step {metrics['global_step']} (epoch 1, batch " in metrics["reason"]
    assert "with learning rate 2e+27" in metrics["reason"]
    assert metrics["reason"] in result.stdout


def test_nan_loss_keeps_good_checkpoints(diverged_run) -> None:
    result, run_dir = diverged_run
    metrics = read_metrics(run_dir)
    checkpoints = sorted(path.name for path in (run_dir / "checkpoints").iterdir())
    assert checkpoints == ["epoch_000.ckpt", "last.ckpt"]
    assert metrics["best_checkpoint"].endswith("epoch_000.ckpt")
    assert all_finite(metrics["best_checkpoint"])
    assert all_finite(metrics["last_checkpoint"])


def wait_for(path_pattern: str, folder: Path, process: subprocess.Popen, timeout: float = 240):
    """Wait until a file matching ``path_pattern`` exists under ``folder``; return it."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = sorted(folder.glob(path_pattern))
        if found:
            return found[0]
        assert process.poll() is None, "training ended before it could be interrupted"
        time.sleep(0.05)
    process.kill()
    pytest.fail(f"no {path_pattern} under {folder} after {timeout} s")


def interrupt_mid_training(
    data_dir: Path, log_dir: Path, output: Path, signal_number: int
) -> tuple[int, Path]:
    """Start a long run, send ``signal_number`` once epoch 0 is saved; return status, run folder."""
    process = start_script(
        TRAIN_SCRIPT,
        *fast_overrides(data_dir, log_dir),
        f"data.batch_size={SIGNAL_BATCH}",
        "trainer.max_epochs=100",
        output=output,
    )
    wait_for("train/runs/*/checkpoints/last.ckpt", log_dir, process)
    process.send_signal(signal_number)
    return process.wait(timeout=240), only_run_dir(log_dir)


@pytest.fixture(scope="module")
def interrupted_run(tiny_data_dir: Path, tmp_path_factory: pytest.TempPathFactory):
    log_dir = tmp_path_factory.mktemp("interrupted")
    output = log_dir / "console.txt"
    status, run_dir = interrupt_mid_training(tiny_data_dir, log_dir, output, signal.SIGINT)
    return status, run_dir, output.read_text()


def test_sigint_exits_130(interrupted_run) -> None:
    status, run_dir, console = interrupted_run
    assert status == 130, console[-3000:]
    assert read_metrics(run_dir)["status"] == "interrupted"


def test_sigint_skips_test_phase(interrupted_run) -> None:
    status, run_dir, console = interrupted_run
    assert "test/acc" not in read_metrics(run_dir)
    assert "Testing the best checkpoint" not in console


def test_sigint_flushes_event_files(interrupted_run) -> None:
    status, run_dir, console = interrupted_run
    events = EventAccumulator(str(run_dir / "tensorboard"))
    events.Reload()
    assert len(events.Scalars("train/loss")) >= 1
    assert "test/acc" not in events.Tags()["scalars"]


def test_sigint_prints_resume_command(interrupted_run) -> None:
    status, run_dir, console = interrupted_run
    last = (run_dir / "checkpoints" / "last.ckpt").resolve()
    expected = f"python {TRAIN_SCRIPT} ckpt_path={last} "
    assert any(line.startswith(expected) for line in console.splitlines()), console[-3000:]
    assert read_metrics(run_dir)["resume_command"].startswith(expected)


@pytest.mark.parametrize(
    "path",
    [
        "/logs/train/runs/2026-12-05_03-03-39/checkpoints/last.ckpt",
        "/logs/train/runs/2026-12-05_03-03-39~2/checkpoints/last.ckpt",
        "/logs/train/multiruns/x/data.batch_size=64,seed=1/checkpoints/last.ckpt",
        "/home/o'neil/my runs/last.ckpt",
    ],
)
def test_resume_path_survives_hydra_parsing(path: str) -> None:
    override = f"ckpt_path={hydra_value(path)}"
    parsed = OverridesParser.create().parse_overrides([override])[0]
    assert parsed.value() == path


def test_sigint_run_resumes_to_completion(interrupted_run, tmp_path: Path) -> None:
    status, run_dir, console = interrupted_run
    stopped = read_metrics(run_dir)
    epochs = stopped["epochs"] + 1
    command = next(line for line in console.splitlines() if line.startswith("python "))
    arguments = shlex.split(command)[2:]
    arguments = [arg for arg in arguments if not arg.startswith("paths.log_dir=")]

    result = run_script(
        TRAIN_SCRIPT, *arguments, f"paths.log_dir={tmp_path}", f"trainer.max_epochs={epochs}"
    )
    assert result.returncode == 0, result.stderr[-3000:]
    # A checkpoint inside a run folder resumes into that same folder.
    resumed = read_metrics(run_dir)
    assert not (tmp_path / "train").exists()
    assert "Restored all states from the checkpoint" in result.stdout + result.stderr
    assert resumed["status"] == "completed"
    assert resumed["epochs"] == epochs
    assert resumed["global_step"] == epochs * STEPS_PER_EPOCH
    assert 0.0 <= resumed["test/acc"] <= 1.0


def test_sigterm_saves_and_exits_143(tiny_data_dir: Path, tmp_path: Path) -> None:
    status, run_dir = interrupt_mid_training(
        tiny_data_dir, tmp_path / "logs", tmp_path / "console.txt", signal.SIGTERM
    )
    metrics = read_metrics(run_dir)
    assert status == 143, (tmp_path / "console.txt").read_text()[-3000:]
    assert metrics["status"] == "interrupted"
    assert metrics["reason"].startswith("Stopped by SIGTERM at step")
    assert Path(metrics["last_checkpoint"]).is_file()
    assert "test/acc" not in metrics


PR_CAPBSET_DROP = 24
CAP_DAC_OVERRIDE = 1


def without_dac_override() -> None:
    """Drop root's right to ignore file permissions for the child process about to start."""
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_CAPBSET_DROP, CAP_DAC_OVERRIDE, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_CAPBSET_DROP) failed")


@pytest.fixture
def read_only_dir(tmp_path: Path) -> Path:
    """A folder the training process cannot write, even when the tests run as root.

    chmod alone does not stop root, so the child process also gives up CAP_DAC_OVERRIDE.
    """
    folder = tmp_path / "read-only"
    folder.mkdir()
    folder.chmod(0o555)
    try:
        probe = subprocess.run(
            [sys.executable, "-c", f"open({str(folder / 'probe')!r}, 'w')"],
            preexec_fn=without_dac_override,
            capture_output=True,
        )
    except (subprocess.SubprocessError, OSError) as error:
        pytest.skip(f"cannot drop CAP_DAC_OVERRIDE for a child process: {error}")
    if probe.returncode == 0:
        pytest.skip("cannot make a folder read-only for this user")
    yield folder
    folder.chmod(0o755)


def test_read_only_log_dir(tiny_data_dir: Path, read_only_dir: Path) -> None:
    result = run_script(
        TRAIN_SCRIPT,
        *fast_overrides(tiny_data_dir, read_only_dir / "logs"),
        preexec_fn=without_dac_override,
    )
    assert result.returncode == 2
    assert result.stderr.startswith(f"Error: cannot write the run folder {read_only_dir}/logs/")
    assert "Permission denied" in result.stderr
    assert "Traceback" not in result.stderr


def test_read_only_checkpoint_dir(tiny_data_dir: Path, read_only_dir: Path, tmp_path: Path) -> None:
    result = run_script(
        TRAIN_SCRIPT,
        *fast_overrides(tiny_data_dir, tmp_path / "logs"),
        f"callbacks.model_checkpoint.dirpath={read_only_dir}",
        "trainer.max_epochs=1",
        preexec_fn=without_dac_override,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 2, output[-3000:]
    assert f"Cannot write checkpoint {read_only_dir}/" in output
    assert "Permission denied" in output
    assert "Traceback" not in output
    assert list(read_only_dir.iterdir()) == []


def test_sweep_values_are_numbers(tiny_data_dir: Path, tmp_path: Path) -> None:
    result = run_script(
        TRAIN_SCRIPT,
        "-m",
        *fast_overrides(tiny_data_dir, tmp_path),
        "model.optimizer.lr=1e-5,0.001",
        "trainer.max_epochs=1",
        "trainer.limit_train_batches=2",
        "++trainer.gradient_clip_val=1.0",
    )
    assert result.returncode == 0, result.stderr[-3000:]
    jobs = sorted((tmp_path / "train" / "multiruns").rglob("metrics.json"))
    assert len(jobs) == 2
    learning_rates = []
    for metrics_path in jobs:
        metrics = json.loads(metrics_path.read_text())
        config = OmegaConf.load(metrics_path.parent / ".hydra" / "config.yaml")
        checkpoint = torch.load(metrics["best_checkpoint"], map_location="cpu", weights_only=False)
        learning_rates.append(checkpoint["hyper_parameters"]["optimizer"]["lr"])
        assert metrics["global_step"] == 2
        assert config.trainer.gradient_clip_val == 1.0
    assert sorted(learning_rates) == [1e-5, 0.001]
    assert all(type(lr) is float for lr in learning_rates)


def test_second_signal_exits_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    exits = []
    monkeypatch.setattr(interrupts.os, "_exit", exits.append)
    stop = GracefulStop("unused")
    with stop:
        os.kill(os.getpid(), signal.SIGINT)
        first = list(exits)
        os.kill(os.getpid(), signal.SIGINT)
    assert stop.received == signal.SIGINT
    assert first == []
    assert exits == [130]


def test_signal_handlers_restored() -> None:
    before = signal.getsignal(signal.SIGINT)
    with GracefulStop("unused"):
        assert signal.getsignal(signal.SIGINT) != before
    assert signal.getsignal(signal.SIGINT) == before
