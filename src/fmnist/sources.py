"""Find the four Fashion-MNIST IDX files: a local folder, a system copy, or a download.

``python -m fmnist.sources [DATA_DIR]`` prints the folder that would be used, or the reason
none works, and exits non-zero in that case; ``make data`` relies on it.
"""

import logging
import os
import shutil
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

from fmnist.errors import DataError

log = logging.getLogger(__name__)

SPLIT_FILES = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}
FILE_STEMS = [stem for pair in SPLIT_FILES.values() for stem in pair]

# Where Debian's and Ubuntu's package dataset-fashion-mnist installs the files.
SYSTEM_DIRS = ("/usr/share/datasets/fashion-mnist",)


def find_file(directory: Path, stem: str) -> Path | None:
    """Return ``directory/stem`` or ``directory/stem.gz``, whichever exists, plain first."""
    for name in (stem, stem + ".gz"):
        path = directory / name
        if path.is_file():
            return path
    return None


def find_files(directory: Path) -> dict[str, Path] | None:
    """Return the four files in ``directory`` by stem, or None unless all four are there."""
    found = {stem: find_file(directory, stem) for stem in FILE_STEMS}
    if all(found.values()):
        return found
    return None


def candidate_dirs(data_dir: Path, system_dirs: Sequence[str]) -> list[Path]:
    """List the folders to search, in order; torchvision downloads into ``FashionMNIST/raw``."""
    folders = [data_dir, data_dir / "FashionMNIST" / "raw"]
    folders += [Path(folder).expanduser().resolve() for folder in system_dirs]
    return folders


def download(data_dir: Path) -> str | None:
    """Download through torchvision into ``data_dir/FashionMNIST/raw``; return why it failed.

    torchvision writes the archives and the unpacked files in place, so an interrupted
    download would leave truncated files where the next run looks first. Here torchvision
    works in a hidden staging folder under ``data_dir``. Only files that pass the IDX checks
    are moved into ``FashionMNIST/raw``, each with an atomic rename. The staging folder is
    removed however the download ends, unless the process is killed with SIGKILL. A partly
    moved set lacks some of the four files, so it is never used and the next download
    replaces it.
    """
    from torchvision.datasets import FashionMNIST

    from fmnist.idx import read_split

    target = data_dir / "FashionMNIST" / "raw"
    log.info("Downloading Fashion-MNIST through torchvision into %s", target)
    try:
        data_dir.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=".download-", dir=data_dir))
    except OSError as error:
        return f"{type(error).__name__}: {error}"

    try:
        for train in (True, False):
            FashionMNIST(root=str(staging), train=train, download=True)
        found = find_files(staging / "FashionMNIST" / "raw")
        if found is None:
            return f"torchvision did not produce {', '.join(FILE_STEMS)}"
        for images_stem, labels_stem in SPLIT_FILES.values():
            read_split(found[images_stem], found[labels_stem])
        target.mkdir(parents=True, exist_ok=True)
        for path in found.values():
            os.replace(path, target / path.name)
    except (OSError, RuntimeError, DataError) as error:
        return f"{type(error).__name__}: {error}".replace("\n", " ")
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return None


def locate(
    data_dir: str | Path,
    system_dirs: Sequence[str] = SYSTEM_DIRS,
    allow_download: bool = False,
) -> dict[str, Path]:
    """Return the paths of the four IDX files by stem, searching in the documented order.

    A relative ``data_dir`` is taken from the current directory, which is the directory the
    user launched from because Hydra does not change it.
    """
    data_dir = Path(data_dir).expanduser().resolve()
    folders = candidate_dirs(data_dir, system_dirs)
    for folder in folders:
        found = find_files(folder)
        if found:
            return found

    download_note = "download disabled"
    if allow_download:
        reason = download(data_dir)
        found = find_files(data_dir / "FashionMNIST" / "raw")
        if found:
            return found
        download_note = f"download failed ({reason})"

    looked = ", ".join(str(folder) for folder in folders)
    raise DataError(
        f"Fashion-MNIST IDX files not found; looked in {looked}; {download_note}. "
        f"Fix it one of three ways: copy {', '.join(FILE_STEMS)} (.gz or not) into {data_dir} "
        "or set data.data_dir=PATH to a folder that has them; install the system copy with "
        "'make data' (Debian's package dataset-fashion-mnist); or set data.download=true "
        "on a machine with internet access."
    )


def main(argv: Sequence[str]) -> int:
    from fmnist.paths import repository_root

    data_dir = argv[0] if argv else str(Path(repository_root()) / "data")
    try:
        found = locate(data_dir)
    except DataError as error:
        print(error, file=sys.stderr)
        return 1
    print(next(iter(found.values())).parent)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
