"""Hydra multirun sweeps through the real entry point, on tiny synthetic data."""

import csv
import json
import shutil
from pathlib import Path

import pytest
from omegaconf import OmegaConf
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
from tensorboard.plugins.hparams import plugin_data_pb2

from fmnist import report
from fmnist.hparams import flatten
from fmnist.rundirs import job_subdir_name, release_unused_dirs
from fmnist.sweep_job import parallel_jobs

from conftest import (
    ROOT,
    TRAIN_SCRIPT,
    only_run_dir,
    only_sweep_dir,
    run_module,
    run_script,
    tiny_overrides,
)

GRID_JOBS = [
    "data.batch_size=25,model.optimizer.lr=0.003",
    "data.batch_size=25,model.optimizer.lr=0.01",
    "data.batch_size=50,model.optimizer.lr=0.003",
    "data.batch_size=50,model.optimizer.lr=0.01",
]
SUMMARY_FILES = ("summary.csv", "summary.md", "summary.png")


def sweep_overrides(data_dir: Path, log_dir: Path) -> list[str]:
    """The tiny-data overrides without a batch size, so a sweep can set it."""
    overrides = tiny_overrides(data_dir, log_dir)
    return [item for item in overrides if not item.startswith("data.batch_size=")]


def resolve(expression: str) -> str:
    """Resolve one interpolation in a fresh config, as each Hydra run composes its own."""
    return OmegaConf.create({"value": expression}).value


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as file:
        return list(csv.DictReader(file))


def read_metrics(job_dir: Path) -> dict:
    return json.loads((job_dir / "metrics.json").read_text())


def read_events(job_dir: Path) -> EventAccumulator:
    accumulator = EventAccumulator(str(job_dir / "tensorboard"), size_guidance={"tensors": 0})
    accumulator.Reload()
    return accumulator


def read_hparams(events: EventAccumulator) -> dict[str, plugin_data_pb2.HParamsPluginData]:
    """Parse the HParams plugin summaries of a run, by tag."""
    contents = events.PluginTagToContent("hparams")
    return {
        tag: plugin_data_pb2.HParamsPluginData.FromString(content)
        for tag, content in contents.items()
    }


@pytest.fixture(scope="module")
def grid_sweep(tiny_data_dir: Path, tmp_path_factory: pytest.TempPathFactory):
    log_dir = tmp_path_factory.mktemp("grid-logs")
    result = run_script(
        TRAIN_SCRIPT,
        "-m",
        *sweep_overrides(tiny_data_dir, log_dir),
        "data.batch_size=25,50",
        "model.optimizer.lr=0.01,0.003",
        "trainer.max_epochs=1",
    )
    return result, only_sweep_dir(log_dir)


@pytest.fixture(scope="module")
def failing_sweep(tiny_data_dir: Path, tmp_path_factory: pytest.TempPathFactory):
    """Three jobs: the middle one has an invalid learning rate, the outer two are identical."""
    log_dir = tmp_path_factory.mktemp("failing-logs")
    result = run_script(
        TRAIN_SCRIPT,
        "-m",
        *tiny_overrides(tiny_data_dir, log_dir),
        "model.optimizer.lr=0.003,-1,0.003",
        "trainer.max_epochs=1",
    )
    return result, only_sweep_dir(log_dir)


def test_grid_sweep_exits_zero(grid_sweep) -> None:
    result, _ = grid_sweep
    assert result.returncode == 0, result.stderr[-3000:]


def test_grid_sweep_names_job_folders(grid_sweep) -> None:
    _, sweep_dir = grid_sweep
    jobs = sorted(path.name for path in sweep_dir.iterdir() if path.is_dir())
    assert jobs == GRID_JOBS


def test_grid_sweep_keeps_files_per_job(grid_sweep) -> None:
    _, sweep_dir = grid_sweep
    for name in GRID_JOBS:
        job_dir = sweep_dir / name
        assert (job_dir / "checkpoints" / "last.ckpt").is_file()
        assert list((job_dir / "tensorboard").glob("events.out.tfevents.*"))
        assert (job_dir / ".hydra" / "config.yaml").is_file()
        assert (job_dir / "train.log").is_file()
        assert read_metrics(job_dir)["status"] == "completed"


def test_grid_sweep_jobs_get_own_config(grid_sweep) -> None:
    _, sweep_dir = grid_sweep
    for name in GRID_JOBS:
        config = (sweep_dir / name / ".hydra" / "config.yaml").read_text()
        batch_size = name.split(",")[0].split("=")[1]
        assert f"batch_size: {batch_size}\n" in config
        assert "seed: 42\n" in config, "jobs share the seed unless the sweep varies it"


def test_grid_summary_csv_rows(grid_sweep) -> None:
    _, sweep_dir = grid_sweep
    rows = read_csv(sweep_dir / "summary.csv")
    assert sorted(row["job"] for row in rows) == GRID_JOBS
    for row in rows:
        metrics = read_metrics(sweep_dir / row["job"])
        assert float(row["val/acc_best"]) == metrics["val/acc_best"]
        assert float(row["test/acc"]) == metrics["test/acc"]
        assert row["status"] == "completed"
        assert row["epochs"] == "1"
    best = [float(row["val/acc_best"]) for row in rows]
    assert best == sorted(best, reverse=True)


def test_grid_summary_csv_has_parameter_columns(grid_sweep) -> None:
    _, sweep_dir = grid_sweep
    rows = read_csv(sweep_dir / "summary.csv")
    for row in rows:
        expected = f"data.batch_size={row['data.batch_size']},model.optimizer.lr="
        assert row["job"] == expected + row["model.optimizer.lr"]


def test_grid_summary_markdown_and_heatmap(grid_sweep) -> None:
    _, sweep_dir = grid_sweep
    markdown = (sweep_dir / "summary.md").read_text()
    for name in GRID_JOBS:
        assert name in markdown
    assert (sweep_dir / "summary.png").read_bytes().startswith(b"\x89PNG")


def test_grid_hparams_hold_job_settings(grid_sweep) -> None:
    _, sweep_dir = grid_sweep
    for name in GRID_JOBS:
        hparams = read_hparams(read_events(sweep_dir / name))
        values = hparams["_hparams_/session_start_info"].session_start_info.hparams
        batch_size, lr = (item.split("=")[1] for item in name.split(","))
        assert values["data.batch_size"].number_value == int(batch_size)
        assert values["model.optimizer.lr"].number_value == pytest.approx(float(lr))
        assert values["model.optimizer"].string_value == "torch.optim.Adam"
        assert values["model.net.channels"].string_value == "[6, 12]"
        assert values["trainer.max_epochs"].number_value == 1
        assert values["seed"].number_value == 42


def test_grid_hparams_metric_is_scalar(grid_sweep) -> None:
    """The HParams tab shows the last value of each metric's scalar in the same run."""
    _, sweep_dir = grid_sweep
    for name in GRID_JOBS:
        events = read_events(sweep_dir / name)
        experiment = read_hparams(events)["_hparams_/experiment"].experiment
        metric_tags = [info.name.tag for info in experiment.metric_infos]
        assert "val/acc_best" in metric_tags
        assert "test/acc" in metric_tags
        assert "hp_metric" not in events.Tags()["scalars"]
        last_best = events.Scalars("val/acc_best")[-1].value
        assert last_best == pytest.approx(read_metrics(sweep_dir / name)["val/acc_best"], abs=1e-6)


def test_failing_sweep_exits_non_zero(failing_sweep) -> None:
    result, _ = failing_sweep
    assert result.returncode == 1, result.stderr[-3000:]


def test_failing_sweep_finishes_other_jobs(failing_sweep) -> None:
    _, sweep_dir = failing_sweep
    assert read_metrics(sweep_dir / "model.optimizer.lr=0.003")["status"] == "completed"
    assert read_metrics(sweep_dir / "model.optimizer.lr=0.003~2")["status"] == "completed"


def test_failing_sweep_records_failure(failing_sweep) -> None:
    _, sweep_dir = failing_sweep
    metrics = read_metrics(sweep_dir / "model.optimizer.lr=-1")
    assert metrics["status"] == "failed"
    assert "-1" in metrics["reason"]
    assert "Traceback" in (sweep_dir / "model.optimizer.lr=-1" / "train.log").read_text()


def test_failing_sweep_summary_marks_failure(failing_sweep) -> None:
    _, sweep_dir = failing_sweep
    rows = {row["job"]: row for row in read_csv(sweep_dir / "summary.csv")}
    assert rows["model.optimizer.lr=-1"]["status"] == "failed"
    assert "-1" in rows["model.optimizer.lr=-1"]["reason"]
    assert list(rows)[-1] == "model.optimizer.lr=-1", "failed jobs come last"


def test_repeated_setting_same_metrics(failing_sweep) -> None:
    """A repeated setting gets its own folder and, with the shared seed, the same result."""
    _, sweep_dir = failing_sweep
    first = read_metrics(sweep_dir / "model.optimizer.lr=0.003")
    second = read_metrics(sweep_dir / "model.optimizer.lr=0.003~2")
    assert first["val/acc_best"] == second["val/acc_best"]
    assert first["test/loss"] == second["test/loss"]
    assert first["best_checkpoint"] != second["best_checkpoint"]


def test_report_rebuilds_summary(grid_sweep, tmp_path: Path) -> None:
    _, sweep_dir = grid_sweep
    copy = shutil.copytree(sweep_dir, tmp_path / sweep_dir.name)
    for name in SUMMARY_FILES:
        (copy / name).unlink()

    result = run_module("fmnist.report", str(copy))

    assert result.returncode == 0, result.stderr[-3000:]
    assert (copy / "summary.csv").read_text() == (sweep_dir / "summary.csv").read_text()
    assert (copy / "summary.md").read_text() == (sweep_dir / "summary.md").read_text()
    assert (copy / "summary.png").is_file()


def test_report_marks_incomplete_job(grid_sweep, tmp_path: Path) -> None:
    """A job without metrics.json, as after an interrupted sweep, is an incomplete row."""
    _, sweep_dir = grid_sweep
    copy = shutil.copytree(sweep_dir, tmp_path / sweep_dir.name)
    (copy / GRID_JOBS[0] / "metrics.json").unlink()

    assert report.main([str(copy)]) == 0

    rows = {row["job"]: row for row in read_csv(copy / "summary.csv")}
    assert rows[GRID_JOBS[0]]["status"] == "incomplete"
    assert rows[GRID_JOBS[0]]["val/acc_best"] == ""
    assert rows[GRID_JOBS[1]]["status"] == "completed"


def test_report_rejects_folder_without_jobs(tmp_path: Path, caplog) -> None:
    assert report.main([str(tmp_path)]) == 2
    assert str(tmp_path) in caplog.text


def test_optuna_preset_runs_trials(tiny_data_dir: Path, tmp_path: Path) -> None:
    pytest.importorskip("hydra_plugins.hydra_optuna_sweeper", reason="needs the sweep extra")
    result = run_script(
        TRAIN_SCRIPT,
        "hparams_search=optuna",
        "hydra.sweeper.n_trials=2",
        *sweep_overrides(tiny_data_dir, tmp_path),
        "trainer.max_epochs=1",
    )
    assert result.returncode == 0, result.stderr[-3000:]

    sweep_dir = only_sweep_dir(tmp_path)
    rows = read_csv(sweep_dir / "summary.csv")
    assert len(rows) == 2
    assert all(row["status"] == "completed" for row in rows)
    assert (sweep_dir / "optimization_results.yaml").is_file()


def test_unique_dir_adds_suffix(tmp_path: Path) -> None:
    """A run that finds its timestamped folder taken by another run gets the next name."""
    target = tmp_path / "2025-01-31_12-00-00"
    target.mkdir()
    claimed = resolve(f"${{unique_dir:{target}}}")
    assert claimed == f"{target}~2"
    assert Path(claimed).is_dir()


def test_unique_dir_same_path_same_folder(tmp_path: Path) -> None:
    """Hydra resolves the run folder in several copies of the config. All get one folder."""
    target = tmp_path / "2025-01-31_12-00-01"
    first = resolve(f"${{unique_dir:{target}}}")
    second = resolve(f"${{unique_dir:{target}}}")
    assert first == str(target)
    assert second == first
    assert [path.name for path in tmp_path.iterdir()] == [target.name]


def test_unique_dir_resolves_once_per_config(tmp_path: Path) -> None:
    config = OmegaConf.create({"dir": f"${{unique_dir:{tmp_path / 'run'}}}"})
    assert config.dir == config.dir
    assert sorted(path.name for path in tmp_path.iterdir()) == ["run"]


def test_release_unused_dirs_keeps_run(tmp_path: Path) -> None:
    stray = resolve(f"${{unique_dir:{tmp_path / 'stray'}}}")
    kept = resolve(f"${{unique_dir:{tmp_path / 'run'}}}")
    used = resolve(f"${{unique_dir:{tmp_path / 'used'}}}")
    (Path(used) / "metrics.json").write_text("{}")
    release_unused_dirs(kept)
    assert not Path(stray).exists()
    assert Path(kept).is_dir()
    assert (Path(used) / "metrics.json").is_file()


def default_run_dirs() -> set[Path]:
    default_runs = ROOT / "logs" / "train" / "runs"
    return set(default_runs.iterdir()) if default_runs.is_dir() else set()


def test_run_claims_no_default_log_folder(tiny_data_dir: Path, tmp_path: Path) -> None:
    """Hydra resolves the run folder before overrides apply; those claims must not stay."""
    before = default_run_dirs()
    result = run_script(
        TRAIN_SCRIPT, *tiny_overrides(tiny_data_dir, tmp_path), "trainer.max_epochs=1"
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert default_run_dirs() == before
    run_dir = only_run_dir(tmp_path)
    assert "~" not in run_dir.name


@pytest.mark.parametrize(
    "arguments",
    [["--cfg", "job"], ["--help"], ["data.batch_size=0"], ["data.batch_sise=3"]],
    ids=["cfg", "help", "rejected-value", "misspelled-key"],
)
def test_stopped_launch_leaves_no_empty_folder(arguments: list[str], tmp_path: Path) -> None:
    before = default_run_dirs()
    run_script(TRAIN_SCRIPT, *arguments, f"paths.log_dir={tmp_path}")
    assert default_run_dirs() == before
    empty = [path for path in tmp_path.rglob("*") if path.is_dir() and not any(path.iterdir())]
    assert empty == []


def test_job_subdir_name_cases() -> None:
    assert job_subdir_name("a=1,b=2", 3) == "a=1,b=2"
    assert job_subdir_name("", 3) == "job_3"
    assert job_subdir_name("model/net=big", 0) == "model_net=big"
    assert len(job_subdir_name("x=" + "9" * 400, 7).encode()) <= 200


def test_flatten_nested_config() -> None:
    config = {"net": {"_target_": "a.Net", "channels": [6, 12]}, "scheduler": None, "amp": True}
    assert flatten(config) == {
        "net": "a.Net",
        "net.channels": "[6, 12]",
        "scheduler": "None",
        "amp": "True",
    }


JOBLIB = "hydra_plugins.hydra_joblib_launcher.joblib_launcher.JoblibLauncher"


@pytest.mark.parametrize(
    ("launcher", "expected"),
    [
        ({"_target_": "hydra._internal.core_plugins.basic_launcher.BasicLauncher"}, 1),
        ({"_target_": JOBLIB, "n_jobs": -1}, 4),
        ({"_target_": JOBLIB, "n_jobs": -2}, 3),
        ({"_target_": JOBLIB, "n_jobs": 2}, 2),
        ({"_target_": JOBLIB, "n_jobs": 16}, 4),
    ],
)
def test_parallel_jobs_per_launcher(launcher: dict, expected: int) -> None:
    assert parallel_jobs(OmegaConf.create(launcher), cores=4) == expected
