"""The classic two-convolution, three-linear network for 28x28 grayscale images."""

from collections.abc import Sequence

import torch
from torch import nn

from fmnist.errors import UserInputError


class ClassicCNN(nn.Module):
    """Two blocks of 5x5 convolution, ReLU and 2x2 max-pooling, then three linear layers.

    With the defaults this is conv 1->6, conv 6->12, then linear 192->120->60->10.
    ``batch_norm``, ``dropout`` and ``padding`` keep that shape while widening what it can
    learn; all three are off by default.
    """

    def __init__(
        self,
        channels: Sequence[int] = (6, 12),
        hidden: Sequence[int] = (120, 60),
        num_classes: int = 10,
        kernel_size: int = 5,
        padding: int = 0,
        batch_norm: bool = False,
        dropout: float = 0.0,
        in_channels: int = 1,
        image_size: int = 28,
    ) -> None:
        super().__init__()
        if len(channels) != 2 or len(hidden) != 2:
            raise UserInputError(
                f"Invalid network widths channels={list(channels)} hidden={list(hidden)}: "
                "give two convolution widths and two hidden widths, e.g. [6, 12] and [120, 60]."
            )

        layers: list[nn.Module] = []
        size = image_size
        previous = in_channels
        for width in channels:
            layers.append(nn.Conv2d(previous, width, kernel_size, padding=padding))
            if batch_norm:
                layers.append(nn.BatchNorm2d(width))
            layers += [nn.ReLU(), nn.MaxPool2d(2)]
            size = (size + 2 * padding - kernel_size + 1) // 2
            previous = width
        if size < 1:
            raise UserInputError(
                f"Invalid network: kernel_size={kernel_size} with padding={padding} shrinks "
                f"{image_size}x{image_size} images to nothing; use a smaller kernel."
            )
        self.features = nn.Sequential(*layers)

        flat = previous * size * size
        self.classifier = nn.Sequential(
            nn.Flatten(),
            nn.Linear(flat, hidden[0]),
            nn.ReLU(),
            nn.Dropout(dropout),
            nn.Linear(hidden[0], hidden[1]),
            nn.ReLU(),
            nn.Dropout(dropout),
            nn.Linear(hidden[1], num_classes),
        )

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """Map ``(N, 1, 28, 28)`` normalized images to ``(N, num_classes)`` logits."""
        return self.classifier(self.features(images))
