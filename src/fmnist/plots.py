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


def image_grid_figure(
    images: torch.Tensor | np.ndarray,
    titles: Sequence[str],
    title: str,
    columns: int = 8,
) -> Figure:
    """Draw 28x28 grayscale images in a grid, each with its caption.

    ``images`` are ``(N, 28, 28)`` or ``(N, 1, 28, 28)``, uint8 or floats in [0, 1], and are
    drawn as stored: a light article on a dark background, as in Fashion-MNIST.
    """
    pixels = np.asarray(images.cpu() if isinstance(images, torch.Tensor) else images)
    pixels = pixels.reshape(len(pixels), pixels.shape[-2], pixels.shape[-1])
    vmax = 255 if pixels.dtype == np.uint8 else 1.0
    columns = max(1, min(columns, len(pixels)))
    rows = max(1, -(-len(pixels) // columns))

    figure = Figure(figsize=(1.9 * columns, 2.1 * rows + 0.4), layout="constrained")
    figure.suptitle(title)
    grid = figure.subplots(rows, columns, squeeze=False)
    for index, axes in enumerate(grid.flat):
        axes.set_axis_off()
        if index < len(pixels):
            axes.imshow(pixels[index], cmap="gray", vmin=0, vmax=vmax)
            axes.set_title(titles[index], fontsize=8)
    return figure
