"""Batch augmentation: flips and shifts on tensors, applied to training batches only."""

import pytest
import torch

from fmnist.augment import BatchAugmentation, random_hflip, random_shift
from fmnist.errors import UserInputError


def numbered_batch(count: int = 8) -> torch.Tensor:
    """A uint8 batch whose pixels are all distinct within an image and nonzero."""
    pixels = torch.arange(1, 28 * 28 + 1).reshape(1, 1, 28, 28) % 250 + 1
    return (pixels + torch.arange(count).reshape(count, 1, 1, 1)).to(torch.uint8)


def test_hflip_keeps_shape_and_dtype() -> None:
    images = numbered_batch()
    flipped = random_hflip(images, generator=torch.Generator().manual_seed(0))
    assert flipped.shape == images.shape
    assert flipped.dtype == images.dtype


def test_hflip_mirrors_or_keeps_each_image() -> None:
    images = numbered_batch(64)
    flipped = random_hflip(images, generator=torch.Generator().manual_seed(0))
    mirrored = (flipped == images.flip(-1)).flatten(1).all(dim=1)
    kept = (flipped == images).flatten(1).all(dim=1)
    assert bool((mirrored | kept).all())
    assert 0 < int(mirrored.sum()) < 64, "about half of 64 images should be flipped"


def test_shift_keeps_shape_and_dtype() -> None:
    images = numbered_batch()
    shifted = random_shift(images, 2, generator=torch.Generator().manual_seed(0))
    assert shifted.shape == images.shape
    assert shifted.dtype == images.dtype


def translated(image: torch.Tensor, dy: int, dx: int) -> torch.Tensor:
    """Return ``image`` moved down by ``dy`` and right by ``dx`` pixels, zero filled."""
    moved = torch.zeros_like(image)
    height, width = image.shape
    moved[max(dy, 0) : height + min(dy, 0), max(dx, 0) : width + min(dx, 0)] = image[
        max(-dy, 0) : height + min(-dy, 0), max(-dx, 0) : width + min(-dx, 0)
    ]
    return moved


def test_shift_translates_within_max() -> None:
    images = numbered_batch(32)
    shifted = random_shift(images, 2, generator=torch.Generator().manual_seed(0))
    offsets = []
    for original, moved in zip(images[:, 0], shifted[:, 0], strict=True):
        matches = [
            (dy, dx)
            for dy in range(-2, 3)
            for dx in range(-2, 3)
            if torch.equal(moved, translated(original, dy, dx))
        ]
        assert len(matches) == 1, "each image should be one translation of its original"
        offsets.append(matches[0])
    assert len(set(offsets)) > 1, "32 images should not all get the same offset"


def test_shift_zero_returns_input() -> None:
    images = numbered_batch()
    assert random_shift(images, 0) is images


def test_augmentation_same_seed_same_batch() -> None:
    augment = BatchAugmentation(hflip=True, max_shift=2)
    images = numbered_batch(16).float()
    first = augment(images, generator=torch.Generator().manual_seed(7))
    second = augment(images, generator=torch.Generator().manual_seed(7))
    third = augment(images, generator=torch.Generator().manual_seed(8))
    assert torch.equal(first, second)
    assert not torch.equal(first, third)


def test_augmentation_global_seed_repeats() -> None:
    augment = BatchAugmentation(hflip=True, max_shift=2)
    images = numbered_batch(16)
    torch.manual_seed(3)
    first = augment(images)
    torch.manual_seed(3)
    second = augment(images)
    assert torch.equal(first, second)


def test_augmentation_default_disabled() -> None:
    assert not BatchAugmentation().enabled


@pytest.mark.parametrize(
    ("hflip", "max_shift", "named"),
    [("yes", 0, "hflip='yes'"), (False, -1, "max_shift=-1"), (False, 14, "max_shift=14")],
)
def test_augmentation_invalid_settings_raise(hflip, max_shift, named: str) -> None:
    with pytest.raises(UserInputError, match=named):
        BatchAugmentation(hflip=hflip, max_shift=max_shift)
