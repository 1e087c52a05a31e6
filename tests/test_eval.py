"""eval.py through the real entry point: metrics, figures and TensorBoard, and bad checkpoints."""

import json
from pathlib import Path

import pytest
import torch
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from fmnist.classes import CLASS_NAMES

from conftest import (
    EVAL_SCRIPT,
    TINY_TEST,
    best_checkpoint,
    only_run_dir,
    run_script,
    tiny_overrides,
)


@pytest.fixture(scope="module")
def evaluation(short_run: Path, tiny_data_dir: Path, tmp_path_factory: pytest.TempPathFactory):
    log_dir = tmp_path_factory.mktemp("eval-logs")
    result = run_script(
        EVAL_SCRIPT,
        *tiny_overrides(tiny_data_dir, log_dir),
        f"ckpt_path={best_checkpoint(short_run)}",
        "cpu_threads=1",
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    run_dir = only_run_dir(log_dir, task="eval")
    return run_dir, json.loads((run_dir / "metrics.json").read_text()), result.stdout


def test_eval_sets_cpu_threads(evaluation) -> None:
    assert "CPU threads for torch: 1" in evaluation[2]


def test_eval_accuracy_matches_training(evaluation, short_run: Path) -> None:
    _, metrics, _ = evaluation
    trained = json.loads((short_run / "metrics.json").read_text())
    assert metrics["test/acc"] == trained["test/acc"]
    assert metrics["test/loss"] == trained["test/loss"]


def test_eval_per_class_metrics(evaluation) -> None:
    _, metrics, _ = evaluation
    per_class = metrics["per_class"]
    assert list(per_class) == list(CLASS_NAMES)
    assert sum(scores["support"] for scores in per_class.values()) == TINY_TEST
    for scores in per_class.values():
        assert 0.0 <= scores["precision"] <= 1.0
        assert 0.0 <= scores["f1"] <= 1.0


def test_eval_recall_matches_confusion_matrix(evaluation) -> None:
    _, metrics, _ = evaluation
    matrix = torch.tensor(metrics["confusion_matrix"], dtype=torch.float64)
    recall = matrix.diag() / matrix.sum(dim=1)
    for index, name in enumerate(CLASS_NAMES):
        assert metrics["per_class"][name]["recall"] == pytest.approx(float(recall[index]))
    assert float(matrix.diag().sum() / matrix.sum()) == pytest.approx(metrics["test/acc"])


def test_eval_prints_per_class_table(evaluation) -> None:
    _, _, stdout = evaluation
    assert "Macro average" in stdout
    for name in CLASS_NAMES:
        assert f"\n{name} " in stdout


def test_eval_lists_confident_mistakes(evaluation) -> None:
    _, metrics, _ = evaluation
    mistakes = metrics["confident_mistakes"]
    assert mistakes, "a 2-epoch model should make some mistakes on the test set"
    probabilities = [mistake["probability"] for mistake in mistakes]
    assert probabilities == sorted(probabilities, reverse=True)
    for mistake in mistakes:
        assert mistake["true_class"] != mistake["predicted_class"]


def test_eval_saves_figures(evaluation) -> None:
    run_dir, _, _ = evaluation
    assert (run_dir / "confusion_matrix_test.png").read_bytes().startswith(b"\x89PNG")
    assert (run_dir / "confident_mistakes.png").read_bytes().startswith(b"\x89PNG")


def test_eval_logs_tensorboard(evaluation) -> None:
    run_dir, metrics, _ = evaluation
    events = EventAccumulator(str(run_dir / "tensorboard"), size_guidance={"images": 0})
    events.Reload()
    assert len(events.Images("test/confusion_matrix")) == 1
    assert len(events.Images("test/confident_mistakes")) == 1
    assert events.Scalars("test/acc")[-1].value == pytest.approx(metrics["test/acc"])
    assert "test/f1_macro" in events.Tags()["scalars"]


def corrupt_checkpoint(source: Path, kind: str, folder: Path) -> Path:
    """Write a missing, truncated or mismatched variant of ``source`` into ``folder``."""
    path = folder / f"{kind}.ckpt"
    if kind == "truncated":
        path.write_bytes(source.read_bytes()[:5000])
    elif kind == "mismatched":
        # Another architecture: the weights of [6, 12] channels under a [8, 16] network config.
        checkpoint = torch.load(source, weights_only=True)
        checkpoint["hyper_parameters"]["net"]["channels"] = [8, 16]
        torch.save(checkpoint, path)
    return path


@pytest.mark.parametrize(
    ("kind", "problem"),
    [
        ("missing", "Checkpoint not found"),
        ("truncated", "truncated"),
        ("mismatched", "size mismatch"),
    ],
)
def test_eval_bad_checkpoint(
    kind: str, problem: str, short_run: Path, tiny_data_dir: Path, tmp_path: Path
) -> None:
    path = corrupt_checkpoint(best_checkpoint(short_run), kind, tmp_path)
    result = run_script(
        EVAL_SCRIPT, *tiny_overrides(tiny_data_dir, tmp_path / "logs"), f"ckpt_path={path}"
    )
    output = result.stdout + result.stderr
    errors = [line for line in output.splitlines() if "[ERROR]" in line]
    assert result.returncode == 2
    assert len(errors) == 1, output[-3000:]
    assert str(path) in errors[0]
    assert problem in errors[0]
    assert "Traceback" not in output
