"""Checks on the real Fashion-MNIST files; skipped where they are not installed."""

import json
from pathlib import Path

import pytest

from fmnist.datamodule import FashionMNISTDataModule
from fmnist.sources import find_files

from conftest import REAL_DATA_DIR, TRAIN_SCRIPT, only_run_dir, run_script

pytestmark = pytest.mark.skipif(
    find_files(REAL_DATA_DIR) is None,
    reason=f"real data set not installed in {REAL_DATA_DIR} (run 'make data')",
)


def test_real_data_loads_with_official_sizes() -> None:
    datamodule = FashionMNISTDataModule(data_dir=str(REAL_DATA_DIR), system_dirs=[])
    datamodule.setup()
    assert len(datamodule.data_train) == 55000
    assert len(datamodule.data_val) == 5000
    assert len(datamodule.data_test) == 10000
    assert sorted(datamodule.data_test.labels.unique().tolist()) == list(range(10))


@pytest.mark.slow
def test_short_training_beats_chance(tmp_path: Path) -> None:
    result = run_script(
        TRAIN_SCRIPT,
        f"data.data_dir={REAL_DATA_DIR}",
        f"paths.log_dir={tmp_path}",
        "trainer.max_epochs=1",
        "++trainer.limit_train_batches=300",
        "trainer.enable_progress_bar=false",
        "trainer.accelerator=cpu",
    )
    assert result.returncode == 0, result.stderr[-3000:]
    metrics = json.loads((only_run_dir(tmp_path) / "metrics.json").read_text())
    # Chance is 0.10; 300 steps of 64 images reach about 0.8.
    assert metrics["test/acc"] > 0.7
