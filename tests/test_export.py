"""Exported models give the checkpoint's outputs; ONNX tests skip without onnx/onnxruntime."""

import json
import warnings
from pathlib import Path

import pytest
import torch
from omegaconf import OmegaConf

from fmnist.checkpoints import load_classifier
from fmnist.classes import CLASS_NAMES
from fmnist.errors import UserInputError
from fmnist.export import export

from conftest import best_checkpoint, only_run_dir, run_script, synthetic_split


@pytest.fixture(scope="module")
def images() -> torch.Tensor:
    """Synthetic test images as the exported model takes them: float (N, 1, 28, 28) in [0, 1]."""
    pixels, _ = synthetic_split(12, seed=6)
    return torch.from_numpy(pixels).unsqueeze(1).float() / 255


def checkpoint_logits(ckpt_path: Path, images: torch.Tensor) -> torch.Tensor:
    model, _ = load_classifier(ckpt_path)
    with torch.inference_mode():
        return model(images)


def export_config(ckpt_path: Path, fmt: str, output: Path) -> OmegaConf:
    return OmegaConf.create(
        {"ckpt_path": str(ckpt_path), "format": fmt, "output": str(output), "opset": None}
    )


def test_export_torchscript_matches_checkpoint(
    short_run: Path, images: torch.Tensor, tmp_path: Path
) -> None:
    ckpt_path = best_checkpoint(short_run)
    result = run_script(
        "-m",
        "fmnist.export",
        f"ckpt_path={ckpt_path}",
        "format=torchscript",
        f"paths.log_dir={tmp_path}",
        "cpu_threads=1",
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "CPU threads for torch: 1" in result.stdout + result.stderr
    path = only_run_dir(tmp_path, task="export") / "model.pt"

    extra_files = {"class_names.json": ""}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        loaded = torch.jit.load(str(path), _extra_files=extra_files)
    with torch.inference_mode():
        exported = loaded(images)
    assert torch.allclose(exported, checkpoint_logits(ckpt_path, images), atol=1e-5)
    assert json.loads(extra_files["class_names.json"]) == list(CLASS_NAMES)


def test_export_onnx_matches_checkpoint(
    short_run: Path, images: torch.Tensor, tmp_path: Path
) -> None:
    onnx = pytest.importorskip("onnx")
    onnxruntime = pytest.importorskip("onnxruntime")
    pytest.importorskip("onnxscript")
    ckpt_path = best_checkpoint(short_run)
    path = export(export_config(ckpt_path, "onnx", tmp_path / "model.onnx"))

    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    exported = torch.from_numpy(session.run(None, {"images": images.numpy()})[0])
    assert torch.allclose(exported, checkpoint_logits(ckpt_path, images), atol=1e-4)
    metadata = {entry.key: entry.value for entry in onnx.load(str(path)).metadata_props}
    assert json.loads(metadata["class_names"]) == list(CLASS_NAMES)


def test_export_onnx_keeps_flip_averaging(
    short_run: Path, images: torch.Tensor, tmp_path: Path
) -> None:
    onnxruntime = pytest.importorskip("onnxruntime")
    pytest.importorskip("onnxscript")
    checkpoint = torch.load(best_checkpoint(short_run), map_location="cpu", weights_only=True)
    checkpoint["hyper_parameters"]["tta_hflip"] = True
    ckpt_path = tmp_path / "tta.ckpt"
    torch.save(checkpoint, ckpt_path)
    path = export(export_config(ckpt_path, "onnx", tmp_path / "model.onnx"))

    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    exported = torch.from_numpy(session.run(None, {"images": images.numpy()})[0])
    expected = checkpoint_logits(ckpt_path, images)
    assert torch.allclose(exported, expected, atol=1e-4)
    assert not torch.allclose(expected, checkpoint_logits(best_checkpoint(short_run), images))


def test_export_keeps_existing_output(short_run: Path, tmp_path: Path) -> None:
    output = tmp_path / "model.pt"
    output.write_bytes(b"an earlier export")
    with pytest.raises(UserInputError, match="already exists"):
        export(export_config(best_checkpoint(short_run), "torchscript", output))
    assert output.read_bytes() == b"an earlier export"


def test_export_rejects_unknown_format(short_run: Path, tmp_path: Path) -> None:
    with pytest.raises(UserInputError, match="format='tflite'"):
        export(export_config(best_checkpoint(short_run), "tflite", tmp_path / "model.tflite"))
