"""Multi-process training with trainer=ddp_cpu, and the sweep launchers built on submitit.

The data set sizes here are odd on purpose: 2 processes with Lightning's default
DistributedSampler would pad each evaluation set by one repeated sample, which the sample
counts and accuracies below would show.
"""

import json
import math
from pathlib import Path
from types import SimpleNamespace

import pytest
import pytorch_lightning as pl
import torch
import yaml

from fmnist.classifier import FashionMNISTClassifier
from fmnist.datamodule import FashionMNISTDataModule, TensorBatchDataset
from fmnist.distributed import evaluation_sampler

from conftest import (
    REAL_DATA_DIR,
    TRAIN_SCRIPT,
    only_run_dir,
    run_script,
    tiny_overrides,
    write_dataset,
)

ODD_TRAIN = 602
ODD_VAL = 101
ODD_TEST = 207
EVAL_BATCH = 40
TRAIN_BATCH = 50  # data.batch_size in tiny_overrides
DDP_EPOCHS = 2

SUBMITIT_PLUGIN = "hydra_plugins.hydra_submitit_launcher"
SUBMITIT_MISSING = "hydra-submitit-launcher is not installed: pip install -e '.[cluster]'"


@pytest.fixture(scope="module")
def odd_data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_dataset(tmp_path_factory.mktemp("odd-fashion-mnist"), ODD_TRAIN, ODD_TEST)


def odd_overrides(data_dir: Path, log_dir: Path) -> list[str]:
    """Tiny-run overrides with an odd validation set and batches that split it unevenly."""
    return [
        *tiny_overrides(data_dir, log_dir),
        f"data.val_size={ODD_VAL}",
        f"data.eval_batch_size={EVAL_BATCH}",
    ]


@pytest.fixture(scope="module")
def ddp_run(odd_data_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    log_dir = tmp_path_factory.mktemp("ddp-logs")
    result = run_script(
        TRAIN_SCRIPT,
        *odd_overrides(odd_data_dir, log_dir),
        "trainer=ddp_cpu",
        f"trainer.max_epochs={DDP_EPOCHS}",
        timeout=240,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return only_run_dir(log_dir)


def read_metrics(run_dir: Path) -> dict:
    return json.loads((run_dir / "metrics.json").read_text())


def single_process_trainer() -> pl.Trainer:
    return pl.Trainer(
        accelerator="cpu",
        devices=1,
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
    )


def load_best(
    run_dir: Path, data_dir: Path
) -> tuple[FashionMNISTClassifier, FashionMNISTDataModule]:
    """Load the run's best checkpoint with a datamodule that makes the run's split."""
    model = FashionMNISTClassifier.load_from_checkpoint(read_metrics(run_dir)["best_checkpoint"])
    datamodule = FashionMNISTDataModule(
        data_dir=str(data_dir),
        system_dirs=[],
        train_size=None,
        test_size=None,
        val_size=ODD_VAL,
        eval_batch_size=EVAL_BATCH,
    )
    return model, datamodule


def test_sampler_splits_without_repeats() -> None:
    dataset = TensorBatchDataset(torch.zeros(ODD_TEST), torch.zeros(ODD_TEST))
    shares = []
    for rank in range(2):
        trainer = SimpleNamespace(world_size=2, global_rank=rank)
        shares.append(list(evaluation_sampler(dataset, trainer)))
    assert sorted(shares[0] + shares[1]) == list(range(ODD_TEST))
    assert abs(len(shares[0]) - len(shares[1])) == 1


def test_sampler_none_in_one_process() -> None:
    dataset = TensorBatchDataset(torch.zeros(ODD_TEST), torch.zeros(ODD_TEST))
    assert evaluation_sampler(dataset, SimpleNamespace(world_size=1, global_rank=0)) is None


def test_ddp_writes_one_run_folder(ddp_run: Path) -> None:
    log_dir = ddp_run.parents[2]
    assert [path.name for path in log_dir.iterdir()] == ["train"]
    assert [path.name for path in (log_dir / "train").iterdir()] == ["runs"]
    assert (ddp_run / ".hydra" / "config.yaml").is_file()


def test_ddp_rank_zero_writes_reports(ddp_run: Path) -> None:
    assert read_metrics(ddp_run)["status"] == "completed"
    assert (ddp_run / "train.log").read_text().count("Test accuracy") == 1
    # Event file names end in <host>.<pid>.<count>: one writer process means one pid.
    event_files = (ddp_run / "tensorboard").glob("events.out.tfevents.*")
    assert len({path.name.split(".")[-2] for path in event_files}) == 1
    assert (ddp_run / "confusion_matrix_test.png").is_file()


def test_ddp_shards_training_set(ddp_run: Path) -> None:
    # Each of the 2 processes trains on half the training images per epoch, rounded up.
    per_process = math.ceil((ODD_TRAIN - ODD_VAL) / 2)
    steps_per_epoch = math.ceil(per_process / TRAIN_BATCH)
    assert read_metrics(ddp_run)["global_step"] == DDP_EPOCHS * steps_per_epoch


def test_ddp_counts_each_test_sample_once(ddp_run: Path) -> None:
    assert read_metrics(ddp_run)["test/samples"] == ODD_TEST


def test_ddp_counts_each_val_sample_once(ddp_run: Path) -> None:
    assert read_metrics(ddp_run)["val/samples"] == ODD_VAL


def test_ddp_test_acc_matches_one_process(ddp_run: Path, odd_data_dir: Path) -> None:
    model, datamodule = load_best(ddp_run, odd_data_dir)
    results = single_process_trainer().test(model, datamodule=datamodule, verbose=False)[0]
    metrics = read_metrics(ddp_run)
    assert int(model.test_cm.compute().sum()) == ODD_TEST
    assert results["test/acc"] == metrics["test/acc"]
    assert results["test/loss"] == pytest.approx(metrics["test/loss"], rel=1e-5)


def test_ddp_val_acc_matches_one_process(ddp_run: Path, odd_data_dir: Path) -> None:
    model, datamodule = load_best(ddp_run, odd_data_dir)
    results = single_process_trainer().validate(model, datamodule=datamodule, verbose=False)[0]
    # The best checkpoint is the one saved right after the best validation epoch.
    assert results["val/acc"] == read_metrics(ddp_run)["val/acc_best"]


@pytest.mark.slow
@pytest.mark.skipif(not REAL_DATA_DIR.is_dir(), reason=f"no Fashion-MNIST in {REAL_DATA_DIR}")
def test_ddp_real_test_set_counted_once(tmp_path: Path) -> None:
    result = run_script(
        TRAIN_SCRIPT,
        f"data.data_dir={tmp_path / 'no-local-copy'}",
        f"data.system_dirs=[{REAL_DATA_DIR}]",
        f"paths.log_dir={tmp_path}",
        "trainer=ddp_cpu",
        "trainer.max_epochs=1",
        "+trainer.limit_train_batches=10",
        "trainer.enable_progress_bar=false",
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    metrics = read_metrics(only_run_dir(tmp_path))
    assert metrics["test/samples"] == 10000
    assert metrics["val/samples"] == 5000


def test_ddp_in_multirun_rejected(tiny_data_dir: Path, tmp_path: Path) -> None:
    result = run_script(
        TRAIN_SCRIPT,
        "-m",
        *tiny_overrides(tiny_data_dir, tmp_path),
        "trainer=ddp_cpu",
        "seed=1,2",
        timeout=120,
    )
    # Each job fails on its own and the sweep exits 1 once all jobs ran, as for any failed job.
    assert result.returncode == 1
    assert "inside a Hydra multirun" in result.stdout + result.stderr
    assert not (tmp_path / "train" / "runs").exists()


def test_slurm_launcher_follows_trainer() -> None:
    pytest.importorskip(SUBMITIT_PLUGIN, reason=SUBMITIT_MISSING)
    result = run_script(
        TRAIN_SCRIPT,
        "hydra/launcher=slurm",
        "trainer=ddp",
        "trainer.devices=4",
        "trainer.num_nodes=2",
        "hydra.launcher.partition=gpu",
        "hydra.launcher.timeout_min=240",
        "--cfg",
        "all",
        "--resolve",
        "--package",
        "hydra.launcher",
        timeout=60,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    launcher = yaml.safe_load(result.stdout)
    assert launcher["_target_"].endswith("SlurmLauncher")
    assert launcher["tasks_per_node"] == 4
    assert launcher["gpus_per_node"] == 4
    assert launcher["nodes"] == 2
    assert launcher["partition"] == "gpu"
    assert launcher["timeout_min"] == 240


@pytest.fixture(scope="module")
def submitit_sweep(odd_data_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Run a 2-job sweep through submitit's local executor; return the sweep folder."""
    pytest.importorskip(SUBMITIT_PLUGIN, reason=SUBMITIT_MISSING)
    log_dir = tmp_path_factory.mktemp("submitit-logs")
    result = run_script(
        TRAIN_SCRIPT,
        "-m",
        "hydra/launcher=submitit_local",
        *odd_overrides(odd_data_dir, log_dir),
        "trainer.max_epochs=1",
        "seed=1,2",
        timeout=240,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    sweeps = sorted((log_dir / "train" / "multiruns").iterdir())
    assert len(sweeps) == 1, f"expected one sweep folder, found {sweeps}"
    return sweeps[0]


def test_submitit_sweep_runs_both_jobs(submitit_sweep: Path) -> None:
    metrics = [read_metrics(path.parent) for path in submitit_sweep.rglob("metrics.json")]
    assert len(metrics) == 2
    assert [entry["status"] for entry in metrics] == ["completed", "completed"]
    assert [entry["test/samples"] for entry in metrics] == [ODD_TEST, ODD_TEST]


def test_submitit_jobs_differ_by_seed(submitit_sweep: Path) -> None:
    configs = [
        yaml.safe_load(path.read_text()) for path in submitit_sweep.rglob(".hydra/config.yaml")
    ]
    assert sorted(config["seed"] for config in configs) == [1, 2]


# TODO: add the sweep summary check here: read summary.csv in the `submitit_sweep` folder and
# compare its rows with the two jobs' metrics.json, once a callback writes that file.
