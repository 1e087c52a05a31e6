"""Checkpoint loading with weights_only=True and its one-line errors, in process."""

import pickle
from pathlib import Path

import pytest
import torch

from fmnist.checkpoints import CheckpointError, load_checkpoint, load_classifier
from fmnist.network import ClassicCNN

from conftest import best_checkpoint


class Payload:
    """A class a weights-only load must refuse to rebuild."""


def edited_checkpoint(source: Path, target: Path, **net_changes) -> Path:
    checkpoint = torch.load(source, weights_only=True)
    checkpoint["hyper_parameters"]["net"].update(net_changes)
    torch.save(checkpoint, target)
    return target


def test_load_classifier_rebuilds_network(short_run: Path) -> None:
    model, path = load_classifier(best_checkpoint(short_run))
    assert isinstance(model.net, ClassicCNN)
    assert path.is_absolute()
    assert not model.training


def test_load_classifier_relative_path(short_run: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(short_run)
    _, path = load_classifier(Path("checkpoints") / best_checkpoint(short_run).name)
    assert path == best_checkpoint(short_run)


def test_load_checkpoint_rejects_pickled_objects(tmp_path: Path) -> None:
    path = tmp_path / "objects.ckpt"
    torch.save({"state_dict": {}, "payload": Payload()}, path)
    with pytest.raises(CheckpointError, match="weights_only=True") as error:
        load_checkpoint(path)
    assert "Payload" in str(error.value)


@pytest.mark.filterwarnings("ignore:Detected pickle protocol")
def test_load_checkpoint_rejects_plain_pickle(tmp_path: Path) -> None:
    path = tmp_path / "plain.ckpt"
    path.write_bytes(pickle.dumps({"state_dict": {}}))
    with pytest.raises(CheckpointError, match=str(path)):
        load_checkpoint(path)


def test_load_checkpoint_needs_state_dict(tmp_path: Path) -> None:
    path = tmp_path / "weights.pt"
    torch.save({"weight": torch.zeros(3)}, path)
    with pytest.raises(CheckpointError, match="no state_dict"):
        load_checkpoint(path)


def test_load_checkpoint_empty_file(tmp_path: Path) -> None:
    path = tmp_path / "empty.ckpt"
    path.write_bytes(b"")
    with pytest.raises(CheckpointError, match="truncated"):
        load_checkpoint(path)


def test_load_classifier_folder(tmp_path: Path) -> None:
    with pytest.raises(CheckpointError, match="is not a file"):
        load_classifier(tmp_path)


def test_load_classifier_not_a_module(short_run: Path, tmp_path: Path) -> None:
    path = edited_checkpoint(
        best_checkpoint(short_run), tmp_path / "target.ckpt", _target_="os.getcwd"
    )
    with pytest.raises(CheckpointError, match="not a torch.nn.Module class"):
        load_classifier(path)


def test_load_classifier_unknown_network(short_run: Path, tmp_path: Path) -> None:
    path = edited_checkpoint(
        best_checkpoint(short_run), tmp_path / "unknown.ckpt", _target_="fmnist.network.Missing"
    )
    with pytest.raises(CheckpointError, match="cannot be imported"):
        load_classifier(path)


def test_load_classifier_without_network_config(short_run: Path, tmp_path: Path) -> None:
    checkpoint = torch.load(best_checkpoint(short_run), weights_only=True)
    del checkpoint["hyper_parameters"]
    path = tmp_path / "bare.ckpt"
    torch.save(checkpoint, path)
    with pytest.raises(CheckpointError, match="no network config"):
        load_classifier(path)
