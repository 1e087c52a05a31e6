"""Figures shared by the training callback, evaluation and sweep reports."""

from collections.abc import Sequence

import numpy as np
import seaborn as sns
import torch
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle


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


def sweep_heatmap_figure(
    values: np.ndarray,
    row_name: str,
    row_labels: Sequence[str],
    column_name: str,
    column_labels: Sequence[str],
    metric: str,
    cell_notes: dict[tuple[int, int], str] | None = None,
) -> Figure:
    """Draw a metric over a two-parameter sweep grid and frame the cell with the highest value.

    ``values`` has one row per ``row_labels`` entry and one column per ``column_labels``
    entry; NaN cells stay blank and show their ``cell_notes`` text instead, e.g. "failed".
    """
    figure = Figure(figsize=(max(6.0, 1.6 * len(column_labels) + 3), 1.0 * len(row_labels) + 2))
    figure.set_layout_engine("constrained")
    axes = figure.add_subplot()
    # A grid without any value still gets a colour scale, with its cells left blank.
    empty = bool(np.isnan(values).all())
    sns.heatmap(
        values,
        annot=True,
        fmt=".4f",
        cmap="viridis",
        vmin=0.0 if empty else None,
        vmax=1.0 if empty else None,
        xticklabels=list(column_labels),
        yticklabels=list(row_labels),
        cbar_kws={"label": metric},
        ax=axes,
    )
    for (row, column), note in (cell_notes or {}).items():
        axes.text(column + 0.5, row + 0.5, note, ha="center", va="center", color="dimgray")

    if not empty:
        best_row, best_column = np.unravel_index(np.nanargmax(values), values.shape)
        frame = Rectangle((best_column, best_row), 1, 1, fill=False, edgecolor="red", linewidth=3)
        axes.add_patch(frame)

    axes.set_xlabel(column_name)
    axes.set_ylabel(row_name)
    axes.set_title(f"{metric} per job, best framed in red")
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
