"""Write files whole or not at all, so an interrupted write never replaces a good file."""

import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO


@contextmanager
def atomic_write(path: str | Path) -> Iterator[BinaryIO]:
    """Open a temporary file next to ``path`` for writing bytes, then rename it over ``path``.

    The temporary file is flushed to disk before the rename, and removed if the block raises
    (a full disk, Ctrl-C), so ``path`` keeps either its old content or the complete new one.
    A process killed with SIGKILL can leave a ``.<name>.*.tmp`` file behind, never a partial
    ``path``.
    """
    path = Path(path)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    # 0o666 minus the umask, the same mode a plain open() would give the new file.
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        with os.fdopen(descriptor, "wb") as stream:
            yield stream
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    sync_directory(path.parent)


def sync_directory(folder: Path) -> None:
    """Flush a folder's entries to disk, so a completed rename survives a power loss."""
    try:
        descriptor = os.open(folder, os.O_RDONLY)
    except OSError:
        return  # Some file systems cannot open folders. The rename has happened regardless.
    try:
        os.fsync(descriptor)
    except OSError:
        pass
    finally:
        os.close(descriptor)


def write_text_atomically(path: str | Path, text: str) -> None:
    with atomic_write(path) as stream:
        stream.write(text.encode("utf-8"))
