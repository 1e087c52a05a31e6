"""Every config composes, and the entry point's own help and config printing work."""

from pathlib import Path

import pytest
from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra
from hydra.utils import instantiate

from fmnist.paths import resume_run_dir

from conftest import EVAL_SCRIPT, PREDICT_SCRIPT, ROOT, TRAIN_SCRIPT, run_script

CONFIG_DIR = ROOT / "configs"
# Hydra's own group: its options are settings of Hydra, not of a run.
SKIPPED_GROUPS = {"hydra"}


def group_options() -> list[tuple[str, str]]:
    options = []
    for group in sorted(path for path in CONFIG_DIR.iterdir() if path.is_dir()):
        if group.name in SKIPPED_GROUPS:
            continue
        for option in sorted(group.glob("*.yaml")):
            options.append((group.name, option.stem))
    return options


def compose_train(overrides: list[str]):
    GlobalHydra.instance().clear()
    with initialize_config_dir(config_dir=str(CONFIG_DIR), version_base="1.3"):
        return compose(config_name="train", overrides=overrides, return_hydra_config=True)


def test_config_groups_are_found() -> None:
    groups = {group for group, _ in group_options()}
    assert {"data", "model", "trainer", "callbacks", "logger", "paths"} <= groups
    assert {"experiment", "debug"} <= groups


@pytest.mark.parametrize(("group", "option"), group_options())
def test_every_config_composes(group: str, option: str) -> None:
    cfg = compose_train([f"{group}={option}"])
    assert cfg.task_name
    assert cfg.data.batch_size > 0


def test_paths_default_to_repository_root() -> None:
    cfg = compose_train([])
    assert Path(cfg.paths.root_dir) == ROOT
    assert Path(cfg.paths.data_dir) == ROOT / "data"
    assert Path(cfg.paths.log_dir) == ROOT / "logs"


def test_model_config_instantiates() -> None:
    cfg = compose_train([])
    model = instantiate(cfg.model)
    assert model.hparams.optimizer["lr"] == cfg.model.optimizer.lr
    assert model.hparams.net["channels"] == [6, 12]


def test_train_help_runs() -> None:
    result = run_script(TRAIN_SCRIPT, "--help")
    assert result.returncode == 0, result.stderr
    assert "== Configuration groups ==" in result.stdout
    assert "experiment: classic_recipe" in result.stdout
    assert "Usage: python src/fmnist/train.py" in result.stdout


@pytest.mark.parametrize(
    ("script", "usage"),
    [
        ((EVAL_SCRIPT,), "Usage: python src/fmnist/eval.py ckpt_path=PATH"),
        ((PREDICT_SCRIPT,), "Usage: python src/fmnist/predict.py ckpt_path=PATH inputs="),
        (("-m", "fmnist.export"), "Usage: python -m fmnist.export ckpt_path=PATH"),
    ],
    ids=["eval", "predict", "export"],
)
def test_tool_help_is_its_own(script: tuple[str, ...], usage: str) -> None:
    result = run_script(*script, "--help")
    assert result.returncode == 0, result.stderr
    assert usage in result.stdout
    assert "train.py" not in result.stdout
    assert "== Configuration groups ==" not in result.stdout


def test_train_cfg_job_prints_config(tmp_path: Path) -> None:
    result = run_script(TRAIN_SCRIPT, "--cfg", "job", "data.batch_size=17", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "batch_size: 17" in result.stdout
    assert "_target_: fmnist.network.ClassicCNN" in result.stdout


def test_fresh_runs_never_share_folder(tmp_path: Path) -> None:
    target = str(tmp_path / "2026-01-01_12-00-00")
    Path(target).mkdir()  # claimed by another run that started in the same second
    assert resume_run_dir(None, target) == f"{target}~2"
