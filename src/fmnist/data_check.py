"""Check that IDX files of the official Fashion-MNIST size really hold Fashion-MNIST.

Digit MNIST ships in the same format, with the same file names and sizes, so the header
checks in ``fmnist.idx`` accept it. Three cheap statistics tell the two apart:

- mean pixel value / 255: Fashion-MNIST 0.2860 (train) and 0.2868 (test). Digit MNIST
  has 0.1307, the mean its usual normalization uses, and inverted Fashion-MNIST 0.714.
- fraction of nonzero pixels: Fashion-MNIST 0.498 (train) and 0.500 (test), because
  clothes fill far more of the frame than pen strokes do.
- label counts: exactly 6,000 per class in train and 1,000 in test, while digit MNIST's
  classes differ in size.

The Fashion-MNIST figures were measured on the official files. The check runs only on splits
of exactly the official size, where a swapped data set is the likely cause. It took 0.05 s
for the training split on a shared 2-core CPU (median of 5 calls on the official files).
"""

from pathlib import Path

import numpy as np
import torch

from fmnist.classes import NUM_CLASSES
from fmnist.errors import DataError

OFFICIAL_SIZES = {"train": 60000, "test": 10000}
MEAN_RANGE = (0.25, 0.33)
NONZERO_RANGE = (0.40, 0.60)
SWITCH_HINT = (
    "Use the Fashion-MNIST files, or set data.check_statistics=false to train on another "
    "28x28 data set of the same size."
)


def check_fashion_mnist(
    split: str, images: torch.Tensor, labels: torch.Tensor, images_path: Path, labels_path: Path
) -> None:
    """Raise ``DataError`` when a split of the official size does not look like Fashion-MNIST.

    Splits of any other size (subsets, synthetic test data) are not checked.
    """
    count = len(labels)
    if count != OFFICIAL_SIZES.get(split):
        return

    pixels = images.numpy()
    mean = float(pixels.mean(dtype=np.float64)) / 255
    nonzero = np.count_nonzero(pixels) / pixels.size
    low_mean, high_mean = MEAN_RANGE
    low_nonzero, high_nonzero = NONZERO_RANGE
    if not (low_mean <= mean <= high_mean and low_nonzero <= nonzero <= high_nonzero):
        raise DataError(
            f"{images_path} does not look like Fashion-MNIST: mean pixel value {mean:.4f} and "
            f"{nonzero:.1%} nonzero pixels, where Fashion-MNIST has about 0.286 and 50% "
            f"(digit MNIST has a mean of 0.131). {SWITCH_HINT}"
        )

    per_class = count // NUM_CLASSES
    counts = torch.bincount(labels, minlength=NUM_CLASSES)
    unbalanced = [label for label, total in enumerate(counts.tolist()) if total != per_class]
    if unbalanced:
        label = unbalanced[0]
        raise DataError(
            f"{labels_path} does not look like Fashion-MNIST: class {label} has "
            f"{int(counts[label])} labels, where every Fashion-MNIST class has exactly "
            f"{per_class} in the {split} split. {SWITCH_HINT}"
        )
