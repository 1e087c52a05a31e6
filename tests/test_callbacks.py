"""The confusion-matrix heatmap: orientation, normalization and logging without TensorBoard."""

import logging

import numpy as np
import pytorch_lightning as pl
import torch
from torchmetrics.classification import MulticlassConfusionMatrix

from fmnist.callbacks import ConfusionMatrixHeatmap
from fmnist.classes import CLASS_NAMES
from fmnist.plots import confusion_matrix_figure


def heatmap_values(figure) -> np.ndarray:
    mesh = figure.axes[0].collections[0]
    return np.asarray(mesh.get_array()).reshape(len(CLASS_NAMES), len(CLASS_NAMES))


def test_true_class_is_row_predicted_is_column() -> None:
    metric = MulticlassConfusionMatrix(len(CLASS_NAMES))
    metric.update(torch.tensor([0]), torch.tensor([1]))
    matrix = metric.compute()
    assert matrix[1, 0] == 1
    values = heatmap_values(confusion_matrix_figure(matrix, CLASS_NAMES))
    assert values[1, 0] == 1
    assert values.sum() == 1


def test_axes_carry_class_names() -> None:
    figure = confusion_matrix_figure(torch.eye(10, dtype=torch.long), CLASS_NAMES)
    axes = figure.axes[0]
    assert [label.get_text() for label in axes.get_yticklabels()] == list(CLASS_NAMES)
    assert [label.get_text() for label in axes.get_xticklabels()] == list(CLASS_NAMES)
    assert axes.get_ylabel() == "True class"
    assert axes.get_xlabel() == "Predicted class"


def test_counts_are_annotated() -> None:
    matrix = torch.zeros(10, 10, dtype=torch.long)
    matrix[2, 6] = 37
    texts = [text.get_text() for text in confusion_matrix_figure(matrix, CLASS_NAMES).axes[0].texts]
    assert "37" in texts


def test_normalized_rows_sum_to_one() -> None:
    matrix = torch.tensor(np.random.default_rng(0).integers(1, 50, size=(10, 10)))
    values = heatmap_values(confusion_matrix_figure(matrix, CLASS_NAMES, normalize=True))
    assert np.allclose(values.sum(axis=1), 1.0)


def test_callback_without_tensorboard_says_so_once(caplog) -> None:
    callback = ConfusionMatrixHeatmap()
    trainer = pl.Trainer(logger=False, accelerator="cpu", enable_progress_bar=False)
    with caplog.at_level(logging.INFO, logger="fmnist.callbacks"):
        assert callback.find_writer(trainer) is None
        assert callback.find_writer(trainer) is None
    notes = [record for record in caplog.records if "No TensorBoard logger" in record.message]
    assert len(notes) == 1
