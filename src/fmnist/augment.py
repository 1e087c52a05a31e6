"""Training-time augmentation on whole batches of image tensors.

Works on ``(N, C, H, W)`` tensors of any dtype on any device, so it runs after the batch has
reached the device, without a round trip through PIL. Random numbers come from ``generator``
when given (it must live on the batch's device), otherwise from torch's global generator,
which ``seed_everything`` seeds.
"""

import torch

from fmnist.errors import UserInputError


def random_hflip(
    images: torch.Tensor, probability: float = 0.5, generator: torch.Generator | None = None
) -> torch.Tensor:
    """Flip each image left-right with the given probability."""
    flip = torch.rand(len(images), device=images.device, generator=generator) < probability
    return torch.where(flip[:, None, None, None], images.flip(-1), images)


def random_shift(
    images: torch.Tensor, max_shift: int, generator: torch.Generator | None = None
) -> torch.Tensor:
    """Move each image by a whole number of pixels in [-max_shift, max_shift] along each axis.

    Pixels that move in from outside the image are zero, the Fashion-MNIST background.
    """
    if max_shift == 0:
        return images
    count, channels, height, width = images.shape
    shifts = torch.randint(
        -max_shift, max_shift + 1, (2, count), device=images.device, generator=generator
    )

    # Crop an (H, W) window out of the zero-padded batch at a per-image offset, with one
    # gather: rows[n, i] and cols[n, j] index into the padded image n.
    padded = torch.nn.functional.pad(images, (max_shift,) * 4)
    rows = torch.arange(height, device=images.device) + (max_shift - shifts[0])[:, None]
    cols = torch.arange(width, device=images.device) + (max_shift - shifts[1])[:, None]
    batch = torch.arange(count, device=images.device)[:, None, None]
    shifted = padded[batch, :, rows[:, :, None], cols[:, None, :]]

    # Advanced indexing puts the indexed axes first: (N, H, W, C) back to (N, C, H, W).
    return shifted.permute(0, 3, 1, 2).contiguous()


class BatchAugmentation:
    """Random horizontal flips and small shifts for training batches, off by default.

    Flips suit Fashion-MNIST because its garments, shoes and bags look plausible mirrored.
    """

    def __init__(self, hflip: bool = False, max_shift: int = 0) -> None:
        if not isinstance(hflip, bool):
            raise UserInputError(f"Invalid data.augment.hflip={hflip!r}: use true or false.")
        if not isinstance(max_shift, int) or isinstance(max_shift, bool) or not 0 <= max_shift < 14:
            raise UserInputError(
                f"Invalid data.augment.max_shift={max_shift!r}: use a whole number of pixels "
                "from 0 (off) to 13; 1 to 3 suit 28x28 images."
            )
        self.hflip = hflip
        self.max_shift = max_shift

    @property
    def enabled(self) -> bool:
        return self.hflip or self.max_shift > 0

    def __call__(
        self, images: torch.Tensor, generator: torch.Generator | None = None
    ) -> torch.Tensor:
        if self.hflip:
            images = random_hflip(images, generator=generator)
        if self.max_shift:
            images = random_shift(images, self.max_shift, generator=generator)
        return images

    def __repr__(self) -> str:
        return f"BatchAugmentation(hflip={self.hflip}, max_shift={self.max_shift})"
