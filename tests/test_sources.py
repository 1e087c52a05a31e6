"""Where the data set is looked for, in which order, and what a user sees when it is missing."""

from pathlib import Path

import pytest

from fmnist.errors import DataError
from fmnist.sources import FILE_STEMS, locate

from conftest import write_dataset


def test_locate_prefers_data_dir(tmp_path: Path) -> None:
    local = write_dataset(tmp_path / "local", train=20, test=10)
    system = write_dataset(tmp_path / "system", train=20, test=10)
    found = locate(local, [str(system)])
    assert {path.parent for path in found.values()} == {local}


def test_locate_falls_back_to_system_dir(tmp_path: Path) -> None:
    system = write_dataset(tmp_path / "system", train=20, test=10)
    found = locate(tmp_path / "empty", [str(system)])
    assert {path.parent for path in found.values()} == {system}


def test_locate_finds_torchvision_layout(tmp_path: Path) -> None:
    raw = write_dataset(tmp_path / "data" / "FashionMNIST" / "raw", train=20, test=10)
    found = locate(tmp_path / "data", [])
    assert {path.parent for path in found.values()} == {raw}


def test_locate_accepts_plain_and_gzipped(tmp_path: Path) -> None:
    folder = write_dataset(tmp_path / "mixed", train=20, test=10)
    found = locate(folder, [])
    assert found["train-images-idx3-ubyte"].name.endswith(".gz")
    assert found["t10k-images-idx3-ubyte"].name == "t10k-images-idx3-ubyte"


def test_locate_skips_incomplete_folder(tmp_path: Path) -> None:
    partial = write_dataset(tmp_path / "partial", train=20, test=10)
    (partial / "t10k-labels-idx1-ubyte").unlink()
    system = write_dataset(tmp_path / "system", train=20, test=10)
    found = locate(partial, [str(system)])
    assert {path.parent for path in found.values()} == {system}


def test_missing_data_error_names_places_and_fixes(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(DataError) as error:
        locate("relative-data", [str(tmp_path / "nowhere")])
    message = str(error.value)
    assert "\n" not in message
    assert str(tmp_path / "relative-data") in message
    assert str(tmp_path / "nowhere") in message
    assert "download disabled" in message
    assert "data.data_dir=PATH" in message
    assert "make data" in message
    assert "data.download=true" in message
    for stem in FILE_STEMS:
        assert stem in message
