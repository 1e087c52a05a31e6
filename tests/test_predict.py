"""Image conversion, and predict.py on generated PNG, JPEG and IDX files plus a broken one."""

import csv
import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from fmnist.classes import CLASS_NAMES
from fmnist.errors import UserInputError
from fmnist.images import convert_image, expand_inputs, parse_invert, read_inputs

from conftest import (
    PREDICT_SCRIPT,
    best_checkpoint,
    only_run_dir,
    run_script,
    synthetic_split,
    write_idx,
)


@pytest.fixture(scope="module")
def article() -> np.ndarray:
    """A 28x28 synthetic test image: a light band on a dark, noisy background."""
    images, _ = synthetic_split(10, seed=2)
    return images[0]


def band_row(pixels: np.ndarray) -> int:
    return int(np.asarray(pixels, dtype=np.float64).mean(axis=1).argmax())


def test_convert_keeps_28x28_grayscale(article: np.ndarray) -> None:
    pixels, inverted = convert_image(Image.fromarray(article))
    assert inverted is False
    assert np.array_equal(pixels, article)


def test_convert_rgb_28x28_is_lossless(article: np.ndarray) -> None:
    pixels, _ = convert_image(Image.fromarray(article).convert("RGB"))
    assert np.array_equal(pixels, article)


def test_convert_large_inverted_rgb(article: np.ndarray) -> None:
    dark_on_light = Image.fromarray(255 - article).resize((280, 280), Image.Resampling.NEAREST)
    pixels, inverted = convert_image(dark_on_light.convert("RGB"), crop=False)
    assert inverted is True
    assert pixels.shape == (28, 28)
    assert band_row(pixels) == band_row(article)
    assert np.abs(pixels.astype(int) - article).mean() < 10


def test_convert_small_image_upscaled(article: np.ndarray) -> None:
    small = Image.fromarray(article).resize((14, 14), Image.Resampling.BOX)
    pixels, inverted = convert_image(small, crop=False)
    assert inverted is False
    assert pixels.shape == (28, 28)
    assert abs(band_row(pixels) - band_row(article)) <= 1


def test_convert_crop_fills_frame() -> None:
    canvas = np.zeros((200, 100), dtype=np.uint8)
    canvas[90:110, 40:60] = 200
    pixels, _ = convert_image(Image.fromarray(canvas), crop=True)
    assert (pixels > 100).all()


def test_convert_transparent_background() -> None:
    rgba = np.zeros((60, 60, 4), dtype=np.uint8)
    rgba[20:40, 10:50] = (30, 30, 30, 255)
    pixels, inverted = convert_image(Image.fromarray(rgba, "RGBA"), crop=False)
    assert inverted is True
    assert pixels[14, 14] > 200
    assert pixels[1, 14] == 0


@pytest.mark.parametrize(("invert", "expected"), [(True, True), (False, False)])
def test_convert_invert_forced(article: np.ndarray, invert: bool, expected: bool) -> None:
    pixels, inverted = convert_image(Image.fromarray(article), invert=invert)
    assert inverted is expected
    assert np.array_equal(pixels, 255 - article if expected else article)


@pytest.mark.parametrize(("value", "expected"), [("auto", "auto"), (True, True), ("false", False)])
def test_parse_invert_values(value: object, expected: object) -> None:
    assert parse_invert(value) == expected


def test_parse_invert_rejects_unknown() -> None:
    with pytest.raises(UserInputError, match="invert='sometimes'"):
        parse_invert("sometimes")


def test_expand_inputs_folder_glob_missing(tmp_path: Path) -> None:
    for name in ("a.png", "b.JPG", "notes.txt", "t10k-labels-idx1-ubyte"):
        (tmp_path / name).write_bytes(b"x")
    files, missing = expand_inputs([str(tmp_path), str(tmp_path / "*.png"), "absent.png"])
    assert [path.name for path in files] == ["a.png", "b.JPG"]
    assert [pattern for pattern, _ in missing] == ["absent.png"]


def test_read_inputs_idx_yields_every_image(tmp_path: Path) -> None:
    images, _ = synthetic_split(5, seed=4)
    path = write_idx(tmp_path / "few-images-idx3-ubyte", images, compress=True)
    converted = read_inputs(path)
    assert [item.name for item in converted] == [f"{path}[{index}]" for index in range(5)]
    assert np.array_equal(converted[3].pixels, images[3])


@pytest.fixture(scope="module")
def prediction(short_run: Path, tmp_path_factory: pytest.TempPathFactory):
    """Run predict.py on a folder of generated files and an IDX file of the same images."""
    folder = tmp_path_factory.mktemp("inputs")
    images, _ = synthetic_split(4, seed=5)
    for index, pixels in enumerate(images):
        Image.fromarray(pixels).convert("RGB").save(folder / f"rgb_{index}.png")
    Image.fromarray(255 - images[0]).resize((300, 300)).convert("RGB").save(folder / "large.jpg")
    Image.fromarray(images[1]).resize((14, 14)).save(folder / "small.bmp")
    Image.fromarray(images[2]).save(folder / "palette.gif")
    (folder / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"not an image")
    idx_path = write_idx(folder.parent / "four-images-idx3-ubyte", images)

    log_dir = tmp_path_factory.mktemp("predict-logs")
    result = run_script(
        PREDICT_SCRIPT,
        f"ckpt_path={best_checkpoint(short_run)}",
        f"inputs=[{folder},{idx_path}]",
        f"paths.log_dir={log_dir}",
        "cpu_threads=1",
    )
    run_dir = only_run_dir(log_dir, task="predict")
    return result, run_dir, folder, idx_path


def test_predict_reports_broken_file(prediction) -> None:
    result, run_dir, folder, _ = prediction
    report = json.loads((run_dir / "predictions.json").read_text())
    assert result.returncode == 1
    assert f"Skipped {folder / 'broken.png'}" in result.stdout
    assert [failure["input"] for failure in report["failures"]] == [str(folder / "broken.png")]


def test_predict_sets_cpu_threads(prediction) -> None:
    result = prediction[0]
    assert "CPU threads for torch: 1" in result.stdout + result.stderr


def test_predict_classifies_the_rest(prediction) -> None:
    _, run_dir, folder, _ = prediction
    with (run_dir / "predictions.csv").open() as stream:
        rows = list(csv.DictReader(stream))
    names = {Path(row["input"]).name for row in rows}
    assert {"rgb_0.png", "large.jpg", "small.bmp", "palette.gif"} <= names
    assert len(rows) == 4 + 3 + 4
    for row in rows:
        assert row["predicted_class"] in CLASS_NAMES
        assert row["top1_class"] == row["predicted_class"]
        assert float(row["top1_probability"]) >= float(row["top2_probability"])
        assert float(row["top2_probability"]) >= float(row["top3_probability"])


def test_predict_png_matches_idx(prediction) -> None:
    _, run_dir, folder, idx_path = prediction
    report = json.loads((run_dir / "predictions.json").read_text())
    by_name = {record["input"]: record for record in report["predictions"]}
    for index in range(4):
        png = by_name[str(folder / f"rgb_{index}.png")]
        idx = by_name[f"{idx_path}[{index}]"]
        assert [entry["class"] for entry in png["top"]] == [entry["class"] for entry in idx["top"]]
        assert png["probability"] == pytest.approx(idx["probability"], abs=1e-6)


def test_predict_inverts_light_background(prediction) -> None:
    _, run_dir, folder, _ = prediction
    report = json.loads((run_dir / "predictions.json").read_text())
    by_name = {record["input"]: record for record in report["predictions"]}
    assert by_name[str(folder / "large.jpg")]["inverted"] is True
    assert by_name[str(folder / "rgb_0.png")]["inverted"] is False


def test_predict_writes_preview(prediction) -> None:
    _, run_dir, _, _ = prediction
    assert (run_dir / "inputs.png").read_bytes().startswith(b"\x89PNG")
