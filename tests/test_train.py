"""End-to-end training runs through the real entry point, on tiny synthetic data."""

import json
from pathlib import Path

import pytest
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from conftest import TRAIN_SCRIPT, only_run_dir, run_script, tiny_overrides

EPOCHS = 3


def read_events(run_dir: Path) -> EventAccumulator:
    """Load every scalar and image summary from the run's TensorBoard folder."""
    accumulator = EventAccumulator(str(run_dir / "tensorboard"), size_guidance={"images": 0})
    accumulator.Reload()
    return accumulator


@pytest.fixture(scope="module")
def trained_run(tiny_data_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    log_dir = tmp_path_factory.mktemp("logs")
    result = run_script(
        TRAIN_SCRIPT, *tiny_overrides(tiny_data_dir, log_dir), f"trainer.max_epochs={EPOCHS}"
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return only_run_dir(log_dir)


def test_train_writes_metrics_json(trained_run: Path) -> None:
    metrics = json.loads((trained_run / "metrics.json").read_text())
    assert metrics["status"] == "completed"
    assert metrics["epochs"] == EPOCHS
    assert 0.0 <= metrics["test/acc"] <= 1.0
    assert metrics["test/loss"] > 0
    assert metrics["val/acc_best"] > 0.3, "the banded synthetic classes should be learnable"
    assert Path(metrics["best_checkpoint"]).is_file()


def test_train_saves_best_and_last_checkpoints(trained_run: Path) -> None:
    names = sorted(path.name for path in (trained_run / "checkpoints").iterdir())
    assert "last.ckpt" in names
    assert any(name.startswith("epoch_") for name in names)


def test_train_keeps_config_and_log_in_run_folder(trained_run: Path) -> None:
    assert (trained_run / ".hydra" / "config.yaml").is_file()
    assert (trained_run / "train.log").read_text().count("Test accuracy") == 1


def test_train_logs_scalars(trained_run: Path) -> None:
    tags = read_events(trained_run).Tags()["scalars"]
    for tag in ("train/loss", "train/acc", "val/loss", "val/acc", "val/acc_best"):
        assert tag in tags
    assert "test/acc" in tags
    assert "test/loss" in tags


def test_train_logs_confusion_heatmaps(trained_run: Path) -> None:
    events = read_events(trained_run)
    val_images = events.Images("val/confusion_matrix")
    assert [image.step for image in val_images] == list(range(EPOCHS))
    assert len(events.Images("test/confusion_matrix")) == 1
    assert val_images[0].encoded_image_string.startswith(b"\x89PNG")


def test_train_saves_test_heatmap_png(trained_run: Path) -> None:
    png = trained_run / "confusion_matrix_test.png"
    assert png.read_bytes().startswith(b"\x89PNG")


def test_train_test_acc_matches_scalar(trained_run: Path) -> None:
    metrics = json.loads((trained_run / "metrics.json").read_text())
    logged = read_events(trained_run).Scalars("test/acc")
    assert logged[-1].value == pytest.approx(metrics["test/acc"], abs=1e-6)


def test_train_same_seed_same_metrics(tiny_data_dir: Path, tmp_path: Path) -> None:
    results = []
    for attempt in ("a", "b"):
        log_dir = tmp_path / attempt
        result = run_script(
            TRAIN_SCRIPT, *tiny_overrides(tiny_data_dir, log_dir), "trainer.max_epochs=1", "seed=3"
        )
        assert result.returncode == 0, result.stderr[-3000:]
        results.append(json.loads((only_run_dir(log_dir) / "metrics.json").read_text()))
    assert results[0]["test/acc"] == results[1]["test/acc"]
    assert results[0]["test/loss"] == results[1]["test/loss"]
    assert results[0]["val/acc_best"] == results[1]["val/acc_best"]
