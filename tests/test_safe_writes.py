"""Checkpoints and run files are written whole or not at all, or fail in one clear line."""

import errno
import os
from pathlib import Path

import pytest
import pytorch_lightning as pl
import torch
from omegaconf import OmegaConf

from fmnist.atomic import atomic_write
from fmnist.checkpoint_io import AtomicCheckpointIO, use_atomic_checkpoints
from fmnist.errors import CheckpointWriteError
from fmnist.output_check import OutputDirCheck


def write_good_checkpoint(path: Path) -> bytes:
    AtomicCheckpointIO().save_checkpoint({"state_dict": {"weight": torch.ones(3)}}, path)
    return path.read_bytes()


def fill_disk_midway(checkpoint: dict, stream) -> None:
    """Write part of a checkpoint, then fail the way a full disk does."""
    stream.write(b"partial checkpoint bytes")
    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


def test_full_disk_keeps_old_checkpoint(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "last.ckpt"
    good = write_good_checkpoint(path)
    monkeypatch.setattr(torch, "save", fill_disk_midway)

    with pytest.raises(CheckpointWriteError) as raised:
        AtomicCheckpointIO().save_checkpoint({"state_dict": {}}, path)
    assert str(raised.value).startswith(f"Cannot write checkpoint {path}: No space left on device")
    assert path.read_bytes() == good
    assert sorted(tmp_path.iterdir()) == [path]


def test_saved_checkpoint_loads(tmp_path: Path) -> None:
    path = tmp_path / "nested" / "last.ckpt"
    write_good_checkpoint(path)
    loaded = AtomicCheckpointIO().load_checkpoint(path)
    assert torch.equal(loaded["state_dict"]["weight"], torch.ones(3))


def test_unwritable_folder_reports_path(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the checkpoint folder should be")
    path = blocker / "checkpoints" / "last.ckpt"
    with pytest.raises(CheckpointWriteError, match=f"Cannot write checkpoint {path}: "):
        write_good_checkpoint(path)


def test_interrupted_write_keeps_old_file(tmp_path: Path) -> None:
    path = tmp_path / "metrics.json"
    path.write_text("old")
    with pytest.raises(KeyboardInterrupt), atomic_write(path) as stream:
        stream.write(b"new, but cut short")
        raise KeyboardInterrupt
    assert path.read_text() == "old"
    assert sorted(tmp_path.iterdir()) == [path]


def test_trainer_uses_atomic_writer(tmp_path: Path) -> None:
    trainer = pl.Trainer(
        accelerator="cpu", default_root_dir=tmp_path, logger=False, enable_progress_bar=False
    )
    use_atomic_checkpoints(trainer)
    assert isinstance(trainer.strategy.checkpoint_io, AtomicCheckpointIO)


@pytest.mark.parametrize("key", ["hydra.run.dir", "hydra.sweep.dir"])
def test_output_check_rejects_unwritable(
    tmp_path: Path, key: str, capsys: pytest.CaptureFixture
) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("a file where the log folder should be")
    folder = blocker / "logs" / "run"
    config = OmegaConf.create(
        {"hydra": {"run": {"dir": str(folder)}, "sweep": {"dir": str(folder)}}}
    )
    with pytest.raises(SystemExit) as raised:
        OutputDirCheck().check(config, key)
    assert raised.value.code == 2
    assert capsys.readouterr().err == (
        f"Error: cannot write the run folder {folder}: Not a directory. "
        "Set paths.log_dir to a writable folder with free space.\n"
    )


def test_output_check_creates_writable(tmp_path: Path) -> None:
    folder = tmp_path / "logs" / "run"
    OutputDirCheck().check(
        OmegaConf.create({"hydra": {"run": {"dir": str(folder)}}}), "hydra.run.dir"
    )
    assert folder.is_dir()
    assert list(folder.iterdir()) == []
