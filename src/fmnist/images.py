"""Read image files and IDX files as 28x28 inputs in the Fashion-MNIST format.

An image file (PNG, JPEG, BMP or GIF, any size and colour mode) is converted in five steps:

1. Apply its EXIF orientation; an animated GIF contributes its first frame.
2. Composite transparent pixels onto white and convert to 8-bit grayscale (ITU-R 601-2 luma).
3. Match the data set's polarity, a light article on a black background. ``invert="auto"``
   inverts the image when the mean of its border pixels is above 127 (a light background);
   ``True`` and ``False`` force the choice.
4. An image that is not 28x28 is first cropped to the bounding box of the pixels brighter than
   ``CONTENT_THRESHOLD`` (unless ``crop`` is off). It is then scaled so the longer side is 28
   pixels (Lanczos) and centred on a black 28x28 canvas, as the data set's own images were made.
5. Return the pixels as uint8; the classifier scales them to [0, 1] and normalizes them.

An IDX file contains images already in the data set's format, so its images are used as they are.
"""

import glob
import gzip
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps

from fmnist.errors import DataError, UserInputError
from fmnist.idx import IMAGE_SIZE, read_images

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif")
IDX_IMAGES_MAGIC = bytes([0, 0, 0x08, 3])
# A pixel brighter than this, after the polarity step, counts as part of the article.
CONTENT_THRESHOLD = 32
# Border pixels within this fraction of the shorter side decide the polarity (at least 1 pixel).
BORDER_FRACTION = 0.05


class InputError(Exception):
    """An input file that cannot be read or converted; the batch goes on without it."""


@dataclass
class ConvertedImage:
    """One 28x28 uint8 input and where it came from."""

    name: str
    pixels: np.ndarray
    inverted: bool | None


def parse_invert(value: object) -> bool | str:
    """Return ``"auto"``, True or False from a config value such as ``auto`` or ``true``."""
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text == "auto":
        return "auto"
    if text in ("true", "yes", "1"):
        return True
    if text in ("false", "no", "0"):
        return False
    raise UserInputError(f"Invalid invert={value!r}; use auto, true or false.")


def is_idx_images(path: Path) -> bool:
    """Return whether the file starts with the IDX magic number of a 3-D unsigned-byte array."""
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rb") as stream:
            return stream.read(4) == IDX_IMAGES_MAGIC
    except (OSError, EOFError):
        return False


def looks_like_input(path: Path) -> bool:
    """Return whether a file in a folder should be classified: an image suffix or IDX images.

    Label files (``*-idx1-ubyte``) and other files in the folder are left out without a report.
    """
    name = path.name.lower()
    return path.suffix.lower() in IMAGE_SUFFIXES or "idx3" in name or name.endswith(".idx")


def expand_inputs(inputs: str | Sequence[str]) -> tuple[list[Path], list[tuple[str, str]]]:
    """Expand files, folders and glob patterns into files; return them and the unmatched ones.

    Relative paths are taken from the current directory. A folder contributes its own files
    (not subfolders) that ``looks_like_input`` accepts; ``**`` in a pattern matches subfolders.
    """
    patterns = [inputs] if isinstance(inputs, str) else list(inputs)
    files: list[Path] = []
    missing: list[tuple[str, str]] = []
    for pattern in map(str, patterns):
        path = Path(pattern).expanduser()
        if path.is_dir():
            found = sorted(p for p in path.iterdir() if p.is_file() and looks_like_input(p))
            if not found:
                missing.append((pattern, "the folder has no PNG, JPEG, BMP, GIF or IDX files"))
        elif path.is_file():
            found = [path]
        elif glob.has_magic(pattern):
            found = sorted(Path(p) for p in glob.glob(str(path), recursive=True))
            found = [p for p in found if p.is_file()]
            if not found:
                missing.append((pattern, "no file matches this pattern"))
        else:
            missing.append((pattern, f"file not found ({path.absolute()})"))
            found = []
        files.extend(p for p in found if p not in files)
    return files, missing


def border_mean(pixels: np.ndarray) -> float:
    """Return the mean of the pixels near the image's edges."""
    width = max(1, round(min(pixels.shape) * BORDER_FRACTION))
    mask = np.zeros(pixels.shape, dtype=bool)
    mask[:width, :] = mask[-width:, :] = True
    mask[:, :width] = mask[:, -width:] = True
    return float(pixels[mask].mean())


def to_grayscale(image: Image.Image) -> Image.Image:
    """Return an 8-bit grayscale copy with transparent pixels composited onto white."""
    image = ImageOps.exif_transpose(image)
    if image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info:
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        image = Image.alpha_composite(background, rgba)
    return image.convert("L")


def fit_to_canvas(image: Image.Image, crop: bool) -> Image.Image:
    """Crop to the article (optional), scale the longer side to 28 and centre on black."""
    if crop:
        mask = image.point(lambda value: 255 if value > CONTENT_THRESHOLD else 0)
        box = mask.getbbox()
        if box is not None:
            image = image.crop(box)
    scale = IMAGE_SIZE / max(image.size)
    size = tuple(max(1, round(side * scale)) for side in image.size)
    image = image.resize(size, Image.Resampling.LANCZOS)
    canvas = Image.new("L", (IMAGE_SIZE, IMAGE_SIZE), 0)
    canvas.paste(image, ((IMAGE_SIZE - size[0]) // 2, (IMAGE_SIZE - size[1]) // 2))
    return canvas


def convert_image(image: Image.Image, invert: bool | str = "auto", crop: bool = True):
    """Convert a PIL image as the module docstring describes; return pixels and the inversion."""
    gray = to_grayscale(image)
    inverted = border_mean(np.asarray(gray)) > 127 if invert == "auto" else bool(invert)
    if inverted:
        gray = ImageOps.invert(gray)
    if gray.size != (IMAGE_SIZE, IMAGE_SIZE):
        gray = fit_to_canvas(gray, crop)
    return np.asarray(gray, dtype=np.uint8).copy(), inverted


def read_image_file(path: Path, invert: bool | str, crop: bool) -> ConvertedImage:
    try:
        with Image.open(path) as image:
            image.seek(0)
            image.load()
            pixels, inverted = convert_image(image, invert, crop)
    except Image.DecompressionBombError as error:
        raise InputError(f"{error}") from None
    except (OSError, SyntaxError, ValueError) as error:
        # Pillow raises OSError for unknown formats and truncated files, SyntaxError for
        # some corrupt headers.
        raise InputError(str(error) or type(error).__name__) from None
    return ConvertedImage(str(path), pixels, inverted)


def read_idx_file(path: Path) -> list[ConvertedImage]:
    try:
        images = read_images(path)
    except DataError as error:
        raise InputError(str(error)) from None
    return [
        ConvertedImage(f"{path}[{index}]", images[index, 0].numpy(), None)
        for index in range(len(images))
    ]


def read_inputs(path: Path, invert: bool | str = "auto", crop: bool = True) -> list[ConvertedImage]:
    """Read one file: every image of an IDX file, or the one image of a picture file.

    Raises ``InputError`` when the file cannot be read or decoded.
    """
    if is_idx_images(path):
        return read_idx_file(path)
    return [read_image_file(path, invert, crop)]


def stack_pixels(images: Iterable[ConvertedImage]) -> np.ndarray:
    """Stack inputs into an ``(N, 1, 28, 28)`` uint8 array."""
    return np.stack([image.pixels for image in images])[:, None]
