"""Bad settings fail before training in one clear line; valid Lightning settings still pass.

Most rows compose the real configs in-process with Hydra's compose API and run the same check
train.py runs first. A few rows go through the real entry point to check the exit status and
that the console shows one line instead of a traceback.
"""

import pytest
from hydra import compose, initialize_config_dir
from omegaconf import DictConfig

import fmnist  # noqa: F401  (registers the open trainer node and the resolvers)
from fmnist.config_check import check_config
from fmnist.errors import ConfigError, UserInputError
from fmnist.group_choices import find_unknown_choice
from fmnist.instantiation import build

from conftest import EVAL_SCRIPT, PREDICT_SCRIPT, ROOT, TRAIN_SCRIPT, run_script

CONFIG_DIR = ROOT / "configs"


def compose_train(*overrides: str) -> DictConfig:
    with initialize_config_dir(config_dir=str(CONFIG_DIR), version_base="1.3"):
        return compose("train", overrides=list(overrides))


def check_message(*overrides: str) -> str:
    with pytest.raises(ConfigError) as raised:
        check_config(compose_train(*overrides))
    return str(raised.value)


BAD_SETTINGS = [
    ("data.batch_size=0", "Invalid data.batch_size=0: expected a positive integer"),
    ("data.batch_size=abc", "Invalid data.batch_size='abc': expected a positive integer"),
    ("data.batch_size=2.5", "Invalid data.batch_size=2.5"),
    ("data.batch_size=60000", "training split has only 55000 images"),
    ("data.eval_batch_size=-5", "Invalid data.eval_batch_size=-5"),
    ("data.num_workers=-1", "Invalid data.num_workers=-1: expected an integer, 0 or more"),
    ("data.val_size=0", "Invalid data.val_size=0"),
    ("data.val_size=1.5", "Invalid data.val_size=1.5: expected a fraction in (0, 1)"),
    ("data.val_size=60000", "a count below the 60000 training images"),
    ("data.pipeline=pillow", "Invalid data.pipeline='pillow': expected one of tensor"),
    ("model.optimizer.lr=0", "Invalid model.optimizer.lr=0: expected a positive number"),
    ("model.optimizer.lr=-0.1", "Invalid model.optimizer.lr=-0.1"),
    ("model.optimizer.lr='0.01'", "Invalid model.optimizer.lr='0.01'"),
    ("model.net.channels=[6,0]", "Invalid model.net.channels=[6, 0]: expected a list of positive"),
    ("model.net.hidden=[120,-60]", "Invalid model.net.hidden=[120, -60]"),
    ("model.net.num_classes=5", "Invalid model.net.num_classes=5: expected 10"),
    ("model.net.dropout=1.0", "Invalid model.net.dropout=1.0: expected a probability"),
    ("model.tta_hflip=maybe", "Invalid model.tta_hflip='maybe': expected true or false"),
    ("model.channels_last=1", "Invalid model.channels_last=1: expected true or false"),
    ("model.net.batch_norm=yes", "Invalid model.net.batch_norm='yes': expected true or false"),
    ("trainer.max_epochs=0", "Invalid trainer.max_epochs=0: expected a positive integer, or -1"),
    ("trainer.max_steps=0", "Invalid trainer.max_steps=0"),
    ("trainer.limit_train_batches=0", "0 would train nothing"),
    ("trainer.max_epoch=3", "Unknown key trainer.max_epoch: pl.Trainer takes no 'max_epoch'"),
    ("trainer.callbacks=[]", "train.py builds it from the callbacks config group"),
    ("seed=abc", "Invalid seed='abc': expected an integer"),
    ("ckpt_path=/nonexistent/last.ckpt", "Checkpoint not found: /nonexistent/last.ckpt"),
]


@pytest.mark.parametrize(("override", "expected"), BAD_SETTINGS)
def test_check_rejects_bad_setting(override: str, expected: str) -> None:
    message = check_message(override)
    assert expected in message
    assert "\n" not in message


def test_check_suggests_trainer_key() -> None:
    assert "did you mean trainer.max_epochs?" in check_message("trainer.max_epoch=3")


def test_check_lists_every_problem() -> None:
    message = check_message("data.batch_size=0", "model.optimizer.lr=-1", "trainer.max_epochs=0")
    assert "data.batch_size=0" in message
    assert "model.optimizer.lr=-1" in message
    assert "trainer.max_epochs=0" in message


GOOD_SETTINGS = [
    (),
    ("trainer.max_epochs=-1",),
    ("data.val_size=0.1",),
    ("trainer.limit_train_batches=0.5",),
    ("trainer.limit_train_batches=50",),
    ("trainer.gradient_clip_val=1.0",),
    ("++trainer.gradient_clip_val=1.0",),
    ("trainer=cpu", "trainer.detect_anomaly=true"),
    ("experiment=classic_recipe",),
    ("experiment=fmnist_best",),
    ("model.tta_hflip=true", "model.compile=false"),
    ("debug=limit",),
    ("model.optimizer.lr=1e-5",),
]


@pytest.mark.parametrize("overrides", GOOD_SETTINGS)
def test_check_accepts_valid_setting(overrides: tuple[str, ...]) -> None:
    check_config(compose_train(*overrides))


def test_trainer_accepts_any_argument() -> None:
    cfg = compose_train("trainer.limit_train_batches=50", "trainer.gradient_clip_val=1.0")
    assert cfg.trainer.limit_train_batches == 50
    assert cfg.trainer.gradient_clip_val == 1.0


def test_lr_override_is_float() -> None:
    lr = compose_train("model.optimizer.lr=1e-5").model.optimizer.lr
    assert isinstance(lr, float)
    assert lr == 1e-5


def test_build_reports_lightning_error() -> None:
    cfg = compose_train("trainer.precision=foo", "trainer.accelerator=cpu")
    with pytest.raises(ConfigError) as raised:
        build(cfg.trainer, "trainer", default_root_dir=None, logger=False)
    message = str(raised.value)
    assert message.startswith("Invalid trainer config: Precision 'foo' is invalid")
    assert "\n" not in message


def test_build_passes_network_error_through() -> None:
    cfg = compose_train("model.net.channels=[6,12,24]")
    with pytest.raises(UserInputError) as raised:
        build(cfg.model, "model")
    assert "give two convolution widths" in str(raised.value)


def test_build_reports_unknown_network_argument() -> None:
    cfg = compose_train("+model.net.chanels=3")
    with pytest.raises(ConfigError) as raised:
        build(cfg.model, "model")
    assert "unexpected keyword argument 'chanels'" in str(raised.value)


def options_of(group: str) -> str:
    """List a group's options the way the error message does: sorted, comma-separated."""
    return ", ".join(sorted(path.stem for path in (CONFIG_DIR / group).glob("*.yaml")))


UNKNOWN_CHOICES = [
    (
        ["model=foo"],
        "Unknown option model=foo",
        f"available options for model: {options_of('model')}.",
    ),
    (
        ["-m", "model=cnn,foo"],
        "Unknown option model=foo",
        f"available options for model: {options_of('model')}.",
    ),
    (["+experiment=nope"], "Unknown option experiment=nope", "classic_recipe"),
    (
        ["trainer=tpu"],
        "Unknown option trainer=tpu",
        f"available options for trainer: {options_of('trainer')}.",
    ),
    (["debug=choice(limit,quick)"], "Unknown option debug=quick", "fdr, limit"),
]


@pytest.mark.parametrize(("arguments", "head", "options"), UNKNOWN_CHOICES)
def test_choices_reject_unknown_option(arguments: list[str], head: str, options: str) -> None:
    message = find_unknown_choice(arguments, CONFIG_DIR)
    assert message is not None
    assert message.startswith(head)
    assert options in message


KNOWN_CHOICES = [
    ["model=cnn", "trainer=cpu", "experiment=classic_recipe", "debug=fdr"],
    ["-m", "trainer=cpu,gpu"],
    ["~callbacks.confusion_matrix", "logger=null", "callbacks=none"],
    ["hydra/launcher=basic", "model.optimizer.lr=0.1"],
    ["--config-dir=/elsewhere", "model=foo"],
]


@pytest.mark.parametrize("arguments", KNOWN_CHOICES)
def test_choices_accept_known_option(arguments: list[str]) -> None:
    assert find_unknown_choice(arguments, CONFIG_DIR) is None


def error_lines(output: str) -> list[str]:
    return [line for line in output.splitlines() if "Error" in line or "ERROR" in line]


def test_cli_unknown_group_option() -> None:
    result = run_script(TRAIN_SCRIPT, "model=foo")
    assert result.returncode == 2
    assert result.stderr.strip() == (
        "Error: Unknown option model=foo: there is no configs/model/foo.yaml; "
        f"available options for model: {options_of('model')}."
    )


def test_cli_bad_values_one_line(tmp_path) -> None:
    result = run_script(
        TRAIN_SCRIPT,
        f"paths.log_dir={tmp_path}",
        "trainer.max_epoch=3",
        "data.batch_size=0",
        "model.optimizer.lr=-1",
    )
    output = result.stdout + result.stderr
    assert result.returncode == 2
    assert "Traceback" not in output
    lines = error_lines(output)
    assert len(lines) == 1, output[-3000:]
    assert "did you mean trainer.max_epochs?" in lines[0]
    assert "Invalid data.batch_size=0" in lines[0]
    assert "Invalid model.optimizer.lr=-1" in lines[0]


MISSPELLED_KEYS = [
    (TRAIN_SCRIPT, "model.optimizr.lr=0.1", "model.optimizr", "model.optimizer"),
    (TRAIN_SCRIPT, "data.batch_sise=32", "data.batch_sise", "data.batch_size"),
    (TRAIN_SCRIPT, "seeed=3", "seeed", "seed"),
    (EVAL_SCRIPT, "data.batchsize=32", "data.batchsize", "data.batch_size"),
    (PREDICT_SCRIPT, "top_kk=3", "top_kk", "top_k"),
]


@pytest.mark.parametrize(("script", "override", "key", "guess"), MISSPELLED_KEYS)
def test_cli_misspelled_key_one_line(script, override: str, key: str, guess: str) -> None:
    result = run_script(script, override)
    assert result.returncode == 2
    assert result.stderr.strip() == (
        f"Error: Unknown key {key} in the override {override}; did you mean {guess}? Check the "
        "spelling against the output of --cfg job."
    )


def test_cli_misspelled_key_in_sweep(tmp_path) -> None:
    result = run_script(TRAIN_SCRIPT, "-m", "data.batch_sise=32,64", f"paths.log_dir={tmp_path}")
    assert result.returncode == 2
    assert result.stderr.startswith("Error: Unknown key data.batch_sise in the override")
    assert "did you mean data.batch_size?" in result.stderr
    assert list(tmp_path.rglob("*.ckpt")) == []


def test_cli_export_misspelled_key() -> None:
    result = run_script("-m", "fmnist.export", "formt=onnx")
    assert result.returncode == 2
    assert "Error: Unknown key formt in the override formt=onnx; did you mean format?" in (
        result.stderr
    )


def test_cli_override_syntax_one_line() -> None:
    result = run_script(TRAIN_SCRIPT, "model.optimizer.lr=[1,2")
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("Error: Invalid override model.optimizer.lr=[1,2: ")
    assert "quote a value that contains characters such as ~ = ," in lines[0]


def test_cli_key_without_guess_suggests_append() -> None:
    result = run_script(TRAIN_SCRIPT, "zzz=1")
    assert result.returncode == 2
    assert result.stderr.strip() == (
        "Error: Unknown key zzz in the override zzz=1. Check the spelling against the output of "
        "--cfg job, or write +key=value to add a key that the config does not have."
    )


@pytest.mark.parametrize(
    ("script", "override", "groups"),
    [
        (EVAL_SCRIPT, "model=cnn", "callbacks, data, logger, paths, trainer"),
        (PREDICT_SCRIPT, "data=fashion_mnist", "paths"),
    ],
    ids=["eval", "predict"],
)
def test_cli_group_of_other_command(script, override: str, groups: str) -> None:
    result = run_script(script, override)
    group = override.split("=")[0]
    name = script.stem
    assert result.returncode == 2
    assert result.stderr.strip() == (
        f"Error: Unknown config group {group} in {override}: the {name} config takes the "
        f"groups {groups}."
    )


def test_cli_other_composition_error_one_line() -> None:
    result = run_script(TRAIN_SCRIPT, "+seed=3")
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("Error: Invalid command line: Could not append to config.")
    assert "'seed'" in lines[0]


def test_cli_full_error_keeps_hydra_report() -> None:
    result = run_script(TRAIN_SCRIPT, "seeed=3", extra_env={"HYDRA_FULL_ERROR": "1"})
    assert result.returncode == 1
    assert "Traceback" in result.stderr
    assert "Key 'seeed' is not in struct" in result.stderr
