"""Classify image files and IDX files with a trained checkpoint.

    python src/fmnist/predict.py ckpt_path=<run>/checkpoints/epoch_009.ckpt inputs=photos/

Each input is converted to a 28x28 grayscale image with the data set's polarity (see
``fmnist.images``). The run folder gets ``predictions.csv``, ``predictions.json`` and
``inputs.png``, a preview of the converted images. Exit status: 0 when every input was
classified, 1 when some were skipped, 2 for an invalid option or checkpoint.
"""

import csv
import json
import logging
import sys
from pathlib import Path
from typing import Any

import hydra
import torch
from omegaconf import DictConfig, ListConfig, OmegaConf

import fmnist  # noqa: F401  (registers the config resolvers before Hydra composes)
from fmnist.checkpoints import load_classifier
from fmnist.classes import CLASS_NAMES, NUM_CLASSES
from fmnist.classifier import FashionMNISTClassifier
from fmnist.command_line import one_line_errors
from fmnist.cpu import set_cpu_threads
from fmnist.errors import UserInputError
from fmnist.images import ConvertedImage, InputError, expand_inputs, parse_invert, read_inputs
from fmnist.plots import image_grid_figure

log = logging.getLogger(__name__)

PREVIEW_COUNT = 64


def select_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name not in ("cpu", "cuda"):
        raise UserInputError(f"Invalid device={name!r}; use cpu, cuda or auto.")
    if name == "cuda" and not torch.cuda.is_available():
        raise UserInputError("device=cuda was requested but no CUDA device is visible; use cpu.")
    return torch.device(name)


@torch.inference_mode()
def classify(
    model: FashionMNISTClassifier,
    images: list[ConvertedImage],
    top_k: int,
    batch_size: int,
    device: torch.device,
) -> list[dict[str, Any]]:
    """Return one prediction record per image, with the ``top_k`` classes by probability."""
    model = model.to(device)
    records = []
    for start in range(0, len(images), batch_size):
        chunk = images[start : start + batch_size]
        pixels = torch.stack([torch.from_numpy(image.pixels) for image in chunk]).unsqueeze(1)
        probabilities = torch.softmax(model(pixels.to(device).float() / 255), dim=1).cpu()
        top_probabilities, top_classes = probabilities.topk(top_k, dim=1)
        for image, probs, classes in zip(chunk, top_probabilities, top_classes, strict=True):
            top = [
                {"class": CLASS_NAMES[int(index)], "probability": float(prob)}
                for prob, index in zip(probs, classes, strict=True)
            ]
            records.append(
                {
                    "input": image.name,
                    "predicted_class": top[0]["class"],
                    "probability": top[0]["probability"],
                    "top": top,
                    "inverted": image.inverted,
                }
            )
    return records


def write_csv(path: Path, records: list[dict[str, Any]], top_k: int) -> None:
    columns = ["input", "predicted_class", "probability"]
    for rank in range(1, top_k + 1):
        columns += [f"top{rank}_class", f"top{rank}_probability"]
    columns.append("inverted")
    with path.open("w", newline="") as stream:
        writer = csv.writer(stream)
        writer.writerow(columns)
        for record in records:
            row = [record["input"], record["predicted_class"], f"{record['probability']:.6f}"]
            for entry in record["top"]:
                row += [entry["class"], f"{entry['probability']:.6f}"]
            row.append("" if record["inverted"] is None else str(record["inverted"]).lower())
            writer.writerow(row)


def format_table(records: list[dict[str, Any]], max_rows: int) -> str:
    shown = records[:max_rows]
    width = min(60, max([len("Input"), *(len(record["input"]) for record in shown)]))
    lines = [f"{'Input':<{width}}  {'Prediction':<11}  {'Prob':>6}  Top classes"]
    for record in shown:
        name = record["input"]
        if len(name) > width:
            name = "..." + name[-(width - 3) :]
        top = ", ".join(f"{entry['class']} {entry['probability']:.3f}" for entry in record["top"])
        lines.append(
            f"{name:<{width}}  {record['predicted_class']:<11}  {record['probability']:6.3f}  {top}"
        )
    if len(records) > len(shown):
        lines.append(f"... {len(records) - len(shown)} more rows in predictions.csv")
    return "\n".join(lines)


def save_preview(path: Path, images: list[ConvertedImage], records: list[dict[str, Any]]) -> None:
    """Draw the first converted inputs, as the network receives them, with their predictions."""
    shown = list(zip(images, records, strict=True))[:PREVIEW_COUNT]
    titles = [
        f"{Path(image.name).name[-18:]}\n{record['predicted_class']} {record['probability']:.2f}"
        for image, record in shown
    ]
    figure = image_grid_figure(
        [image.pixels for image, _ in shown], titles, "Converted inputs, as passed to the network"
    )
    figure.savefig(path, dpi=100)


def input_patterns(value: Any) -> list[str]:
    if isinstance(value, ListConfig):
        value = OmegaConf.to_container(value)
    if value is None or value == [] or value == "":
        raise UserInputError(
            "No inputs given: set inputs=PATH to an image, a folder, a glob pattern such as "
            "'photos/*.jpg', or a list like '[a.png,b.png]'."
        )
    return [str(item) for item in value] if isinstance(value, list) else [str(value)]


def predict(cfg: DictConfig) -> int:
    """Classify every input, write the output files and return how many inputs failed."""
    output_dir = Path(cfg.paths.output_dir)
    invert = parse_invert(cfg.invert)
    top_k = int(cfg.top_k)
    if not 1 <= top_k <= NUM_CLASSES:
        raise UserInputError(f"Invalid top_k={cfg.top_k}; use a number from 1 to {NUM_CLASSES}.")
    device = select_device(str(cfg.device))
    set_cpu_threads(cfg.get("cpu_threads"))
    patterns = input_patterns(cfg.get("inputs"))
    model, ckpt_path = load_classifier(cfg.get("ckpt_path"))
    log.info("Classifying with %s", ckpt_path)

    files, failures = expand_inputs(patterns)
    images: list[ConvertedImage] = []
    for path in files:
        try:
            images.extend(read_inputs(path, invert, bool(cfg.crop)))
        except InputError as error:
            failures.append((str(path), str(error)))
    for name, reason in failures:
        log.error("Skipped %s: %s", name, reason)

    records = classify(model, images, top_k, int(cfg.batch_size), device) if images else []
    write_csv(output_dir / "predictions.csv", records, top_k)
    report = {
        "checkpoint": str(ckpt_path),
        "predictions": records,
        "failures": [{"input": name, "error": reason} for name, reason in failures],
    }
    (output_dir / "predictions.json").write_text(json.dumps(report, indent=2) + "\n")
    if records:
        save_preview(output_dir / "inputs.png", images, records)
        log.info("Predictions:\n%s", format_table(records, int(cfg.max_rows_shown)))
    log.info(
        "Images classified: %d, inputs skipped: %d. Results: %s",
        len(records),
        len(failures),
        output_dir / "predictions.csv",
    )
    return len(failures)


@one_line_errors("predict")
@hydra.main(version_base="1.3", config_path="../../configs", config_name="predict")
def main(cfg: DictConfig) -> None:
    try:
        failed = predict(cfg)
    except UserInputError as error:
        log.error("%s", error)
        sys.exit(2)
    if failed:
        sys.exit(1)


if __name__ == "__main__":
    main()
