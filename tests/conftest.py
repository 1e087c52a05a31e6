"""Shared fixtures: tiny synthetic IDX files and a way to run the real entry points."""

import gzip
import json
import os
import shutil
import struct
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
TRAIN_SCRIPT = ROOT / "src" / "fmnist" / "train.py"
EVAL_SCRIPT = ROOT / "src" / "fmnist" / "eval.py"
PREDICT_SCRIPT = ROOT / "src" / "fmnist" / "predict.py"
REAL_DATA_DIR = Path("/usr/share/datasets/fashion-mnist")

TINY_TRAIN = 600
TINY_TEST = 200
TINY_VAL = 100


def idx_bytes(array: np.ndarray) -> bytes:
    """Encode a uint8 array as IDX: two zero bytes, type 0x08, ndim, big-endian sizes, data."""
    header = struct.pack(">BBBB", 0, 0, 0x08, array.ndim)
    header += b"".join(struct.pack(">I", size) for size in array.shape)
    return header + np.ascontiguousarray(array, dtype=np.uint8).tobytes()


def write_idx(path: Path, array: np.ndarray, compress: bool = False) -> Path:
    content = idx_bytes(array)
    if compress:
        path = path.with_name(path.name + ".gz")
        path.write_bytes(gzip.compress(content))
    else:
        path.write_bytes(content)
    return path


def synthetic_split(count: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Images whose class is drawn as a bright horizontal band, so a CNN can learn it fast."""
    rng = np.random.default_rng(seed)
    labels = np.arange(count, dtype=np.uint8) % 10
    rng.shuffle(labels)
    images = rng.integers(0, 60, size=(count, 28, 28), dtype=np.uint8)
    for index, label in enumerate(labels):
        row = 2 + 2 * int(label)
        images[index, row : row + 3, 4:24] = 230
    return images, labels


def write_dataset(folder: Path, train: int = TINY_TRAIN, test: int = TINY_TEST) -> Path:
    """Write the four Fashion-MNIST file names into ``folder``; training files gzipped."""
    folder.mkdir(parents=True, exist_ok=True)
    train_images, train_labels = synthetic_split(train, seed=1)
    test_images, test_labels = synthetic_split(test, seed=2)
    write_idx(folder / "train-images-idx3-ubyte", train_images, compress=True)
    write_idx(folder / "train-labels-idx1-ubyte", train_labels, compress=True)
    write_idx(folder / "t10k-images-idx3-ubyte", test_images)
    write_idx(folder / "t10k-labels-idx1-ubyte", test_labels)
    return folder


@pytest.fixture(scope="session")
def tiny_data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_dataset(tmp_path_factory.mktemp("tiny-fashion-mnist"))


def tiny_overrides(data_dir: Path, log_dir: Path) -> list[str]:
    """Overrides that point a run at the tiny data set, no system copy, and a private log folder."""
    return [
        f"data.data_dir={data_dir}",
        "data.system_dirs=[]",
        "data.train_size=null",
        "data.test_size=null",
        f"data.val_size={TINY_VAL}",
        "data.batch_size=50",
        "data.eval_batch_size=100",
        f"paths.log_dir={log_dir}",
        "trainer.accelerator=cpu",
        "trainer.enable_progress_bar=false",
        "trainer.log_every_n_steps=1",
    ]


def script_command(script: Path, *args: str) -> tuple[list[str], dict[str, str]]:
    """Return the argument list and environment that run an entry point as a user would."""
    env = dict(os.environ, PYTHONUNBUFFERED="1", HYDRA_FULL_ERROR="0")
    return [sys.executable, str(script), *args], env


def run_script(
    script: Path,
    *args: str,
    cwd: Path | None = None,
    timeout: float = 300,
    preexec_fn: Callable[[], None] | None = None,
    extra_env: dict[str, str] | None = None,
) -> subprocess.CompletedProcess:
    """Run an entry point as a user would: a separate Python process, output captured."""
    command, env = script_command(script, *args)
    return subprocess.run(
        command,
        cwd=cwd or ROOT,
        env={**env, **(extra_env or {})},
        capture_output=True,
        text=True,
        timeout=timeout,
        preexec_fn=preexec_fn,
    )


def start_script(
    script: Path, *args: str, output: Path, cwd: Path | None = None
) -> subprocess.Popen:
    """Start an entry point without waiting, for tests that signal it.

    stdout and stderr go to the file ``output``, because a pipe that is never read can fill
    up and block the process.
    """
    command, env = script_command(script, *args)
    with output.open("w") as stream:
        return subprocess.Popen(
            command, cwd=cwd or ROOT, env=env, stdout=stream, stderr=subprocess.STDOUT, text=True
        )


def run_module(module: str, *args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    """Run ``python -m module`` from the repository root, output captured."""
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    return subprocess.run(
        [sys.executable, "-m", module, *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def only_sweep_dir(log_dir: Path, task: str = "train") -> Path:
    """Return the single sweep folder under ``log_dir/<task>/multiruns``, failing otherwise."""
    sweeps = sorted((log_dir / task / "multiruns").iterdir())
    assert len(sweeps) == 1, f"expected one sweep folder, found {sweeps}"
    return sweeps[0]


def only_run_dir(log_dir: Path, task: str = "train") -> Path:
    """Return the single run folder under ``log_dir/<task>/runs``, failing if there are others."""
    runs = sorted((log_dir / task / "runs").iterdir())
    assert len(runs) == 1, f"expected one run folder, found {runs}"
    return runs[0]


# Two epochs of four batches with dropout: quick, imperfect on the test set, and dependent on
# the random state, so a resume that loses it shows. A loader worker process makes the resume
# tests cover index prefetching too.
SHORT_TRAINING = (
    "trainer.max_epochs=2",
    # A schedule that does not depend on max_epochs, so 2 + 2 epochs can equal 4 straight.
    "model.scheduler=null",
    "++model.scheduler={_target_:torch.optim.lr_scheduler.StepLR,_partial_:true,"
    "step_size:1,gamma:0.7}",
    "++trainer.limit_train_batches=4",
    "model.net.dropout=0.3",
    "data.num_workers=1",
)


@pytest.fixture(scope="session")
def short_runs(tiny_data_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """Train one short run; return its run folder and an untouched copy of that folder.

    The resume tests continue the run folder itself; every other test reads the copy.
    """
    log_dir = tmp_path_factory.mktemp("short-logs")
    result = run_script(TRAIN_SCRIPT, *tiny_overrides(tiny_data_dir, log_dir), *SHORT_TRAINING)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    run_dir = only_run_dir(log_dir)
    copy = tmp_path_factory.mktemp("short-copy") / run_dir.name
    shutil.copytree(run_dir, copy)
    return run_dir, copy


@pytest.fixture(scope="session")
def short_run(short_runs: tuple[Path, Path]) -> Path:
    """A finished 2-epoch run folder for tests that only read it."""
    return short_runs[1]


def best_checkpoint(run_dir: Path) -> Path:
    """Return the run's best checkpoint, the one its metrics.json test accuracy comes from."""
    recorded = Path(json.loads((run_dir / "metrics.json").read_text())["best_checkpoint"])
    return run_dir / "checkpoints" / recorded.name
