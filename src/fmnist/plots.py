"""Figures shared by the training callback, evaluation and sweep reports."""

from collections.abc import Sequence

import numpy as np
import seaborn as sns
import torch
from matplotlib.figure import Figure


def confusion_matrix_figure(
    matrix: torch.Tensor | np.ndarray,
    class_names: Sequence[str],
    normalize: bool = False,
    title: str = "Confusion matrix",
) -> Figure:
    """Draw a heatmap with true classes as rows and predicted classes as columns.

    With ``normalize`` each row is divided by its total, so cells read as recall fractions.
    The figure is not registered with pyplot, so it is freed once no reference remains.
    """
    counts = np.asarray(matrix.cpu() if isinstance(matrix, torch.Tensor) else matrix)
    if normalize:
        totals = counts.sum(axis=1, keepdims=True)
        values = np.divide(counts, totals, out=np.zeros(counts.shape), where=totals > 0)
        fmt = ".2f"
    else:
        values = counts
        fmt = "d"

    figure = Figure(figsize=(9, 7.5), layout="constrained")
    axes = figure.add_subplot()
    sns.heatmap(
        values,
        annot=True,
        fmt=fmt,
        cmap="Blues",
        xticklabels=class_names,
        yticklabels=class_names,
        cbar=True,
        ax=axes,
    )
    axes.set_xlabel("Predicted class")
    axes.set_ylabel("True class")
    axes.set_title(title)
    axes.tick_params(axis="x", labelrotation=45)
    axes.tick_params(axis="y", labelrotation=0)
    return figure
