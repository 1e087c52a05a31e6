"""Export a trained classifier to ONNX or TorchScript.

    python -m fmnist.export ckpt_path=<run>/checkpoints/epoch_009.ckpt format=onnx

The exported model takes float32 images ``(N, 1, 28, 28)`` in [0, 1], a light article on a
dark background as ``fmnist.images`` prepares them, with any batch size. It returns logits
``(N, 10)`` in the class order of ``fmnist.classes``. Both formats embed the class names.
After writing, the file is loaded back and its outputs are compared with the checkpoint's.
"""

import json
import logging
import sys
import warnings
from pathlib import Path

import hydra
import torch
from omegaconf import DictConfig
from torch import nn

import fmnist  # noqa: F401  (registers the config resolvers before Hydra composes)
from fmnist.checkpoints import load_classifier
from fmnist.classes import CLASS_NAMES
from fmnist.classifier import FashionMNISTClassifier, classify
from fmnist.command_line import one_line_errors
from fmnist.cpu import set_cpu_threads
from fmnist.errors import UserInputError

log = logging.getLogger(__name__)

FORMATS = {"onnx": ".onnx", "torchscript": ".pt"}
# Largest absolute difference between exported and checkpoint logits that passes the check.
TOLERANCE = 1e-4


class ExportedClassifier(nn.Module):
    """The network plus its input normalization and flip averaging, without the metrics."""

    def __init__(self, classifier: FashionMNISTClassifier) -> None:
        super().__init__()
        self.net = classifier.net
        self.register_buffer("mean", classifier.mean.clone())
        self.register_buffer("std", classifier.std.clone())
        self.tta_hflip = bool(classifier.hparams.tta_hflip)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return classify(self.net, images, self.mean, self.std, tta_hflip=self.tta_hflip)


def check_onnx_available() -> None:
    missing = []
    for module in ("onnx", "onnxscript"):
        try:
            __import__(module)
        except ImportError:
            missing.append(module)
    if missing:
        raise UserInputError(
            f"format=onnx needs the packages {', '.join(missing)}, which are not installed. "
            "Install them with pip install -e '.[export]', or use format=torchscript."
        )


def export_onnx(model: nn.Module, example: torch.Tensor, path: Path, opset: int | None) -> None:
    # The exporter's optimizer passes log every step at INFO level.
    for name in ("onnxscript", "onnx_ir"):
        logging.getLogger(name).setLevel(logging.WARNING)
    program = torch.onnx.export(
        model,
        (example,),
        dynamo=True,
        input_names=["images"],
        output_names=["logits"],
        dynamic_shapes=({0: torch.export.Dim("batch")},),
        opset_version=opset,
        verbose=False,
    )
    program.model.metadata_props["class_names"] = json.dumps(CLASS_NAMES)
    program.save(path, external_data=False)


def export_torchscript(model: nn.Module, example: torch.Tensor, path: Path) -> None:
    # NOTE: torch 2.14 marks torch.jit deprecated (FutureWarning); it still traces and loads.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        traced = torch.jit.trace(model, example)
        torch.jit.save(
            traced, str(path), _extra_files={"class_names.json": json.dumps(CLASS_NAMES)}
        )


def run_exported(path: Path, images: torch.Tensor) -> torch.Tensor:
    """Run an exported file on ``images`` and return its logits."""
    if path.suffix == ".onnx":
        try:
            import onnxruntime
        except ImportError:
            raise UserInputError(
                f"Cannot check {path}: onnxruntime is not installed (pip install -e '.[export]')."
            ) from None
        session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        return torch.from_numpy(session.run(None, {"images": images.numpy()})[0])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        loaded = torch.jit.load(str(path), map_location="cpu")
    with torch.inference_mode():
        return loaded(images)


def output_path(cfg: DictConfig) -> Path:
    fmt = str(cfg.format)
    if fmt not in FORMATS:
        raise UserInputError(f"Invalid format={fmt!r}; use one of {', '.join(FORMATS)}.")
    if cfg.get("output"):
        path = Path(cfg.output).expanduser().absolute()
    else:
        path = Path(cfg.paths.output_dir) / f"model{FORMATS[fmt]}"
    if path.suffix != FORMATS[fmt]:
        raise UserInputError(f"Invalid output={path}: a {fmt} file should end in {FORMATS[fmt]}.")
    if path.exists():
        raise UserInputError(f"Output {path} already exists; choose another output or move it.")
    return path


def export(cfg: DictConfig) -> Path:
    """Export the checkpoint, check the file against it and return the file's path."""
    path = output_path(cfg)
    if cfg.format == "onnx":
        check_onnx_available()
    set_cpu_threads(cfg.get("cpu_threads"))
    classifier, ckpt_path = load_classifier(cfg.get("ckpt_path"))
    model = ExportedClassifier(classifier).eval()
    path.parent.mkdir(parents=True, exist_ok=True)

    # Seeded so the check is repeatable; four images keep the exported batch size free.
    generator = torch.Generator().manual_seed(0)
    example = torch.rand(4, 1, 28, 28, generator=generator)
    log.info("Exporting %s to %s", ckpt_path, path)
    if cfg.format == "onnx":
        export_onnx(model, example, path, cfg.get("opset"))
    else:
        export_torchscript(model, example, path)

    check = torch.rand(7, 1, 28, 28, generator=generator)
    with torch.inference_mode():
        expected = model(check)
    difference = float((run_exported(path, check) - expected).abs().max())
    if difference > TOLERANCE:
        raise UserInputError(
            f"The exported {path} differs from the checkpoint by up to {difference:.2e} "
            f"(allowed {TOLERANCE:.0e}); try format=torchscript or another opset."
        )
    log.info("Wrote %s; largest difference from the checkpoint: %.2e", path, difference)
    return path


@one_line_errors("export")
@hydra.main(version_base="1.3", config_path="../../configs", config_name="export")
def main(cfg: DictConfig) -> None:
    try:
        export(cfg)
    except UserInputError as error:
        log.error("%s", error)
        sys.exit(2)


if __name__ == "__main__":
    main()
