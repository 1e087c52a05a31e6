"""Check the composed config before anything is built, so a bad value fails in one line.

Each check names the key, the value and what is allowed. Keys a config does not have are
skipped, so other models and data modules pass as long as the keys they share are valid.
"""

import difflib
import inspect
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytorch_lightning as pl
from omegaconf import DictConfig, ListConfig

from fmnist.classes import NUM_CLASSES
from fmnist.datamodule import PIPELINES
from fmnist.errors import ConfigError

# Hydra's own keys for instantiate, allowed on every node with a _target_.
HYDRA_INSTANTIATE_KEYS = {"_target_", "_partial_", "_recursive_", "_convert_", "_args_"}
LIGHTNING_TRAINERS = {"pytorch_lightning.Trainer", "lightning.pytorch.Trainer", "lightning.Trainer"}
# train.py passes these Trainer arguments itself, built from the config groups of the same name.
TRAINER_ARGUMENTS_FROM_GROUPS = ("callbacks", "logger")
# Values Lightning accepts for ``ckpt_path`` besides a file path.
SPECIAL_CKPT_PATHS = {"last", "best", "hpc", "registry"}


def is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def shown(value: Any) -> str:
    """Format a value as it would be typed on the command line; quotes mark strings."""
    if isinstance(value, str):
        return repr(value)
    if isinstance(value, ListConfig):
        return str(list(value))
    return str(value)


def is_bool(value: Any) -> bool:
    return isinstance(value, bool)


def positive_int(value: Any) -> bool:
    return is_int(value) and value > 0


def non_negative_int(value: Any) -> bool:
    return is_int(value) and value >= 0


def positive_number(value: Any) -> bool:
    return is_number(value) and value > 0


def non_negative_number(value: Any) -> bool:
    return is_number(value) and value >= 0


def unit_fraction(value: Any) -> bool:
    """Return whether ``value`` is a number in [0, 1)."""
    return is_number(value) and 0 <= value < 1


def optional_positive_int(value: Any) -> bool:
    return value is None or positive_int(value)


def positive_int_list(value: Any) -> bool:
    return (
        isinstance(value, (list, ListConfig)) and len(value) > 0 and all(map(positive_int, value))
    )


Rule = tuple[str, Callable[[Any], bool], str]

DATA_RULES: list[Rule] = [
    ("batch_size", positive_int, "a positive integer"),
    ("eval_batch_size", positive_int, "a positive integer"),
    ("num_workers", non_negative_int, "an integer, 0 or more"),
    ("train_size", optional_positive_int, "a positive integer, or null to accept any count"),
    ("test_size", optional_positive_int, "a positive integer, or null to accept any count"),
    ("split_seed", is_int, "an integer"),
    ("pipeline", lambda value: value in PIPELINES, f"one of {', '.join(PIPELINES)}"),
]

MODEL_RULES: list[Rule] = [
    ("optimizer.lr", positive_number, "a positive number, e.g. 0.002"),
    ("optimizer.weight_decay", non_negative_number, "a number, 0 or more"),
    ("net.channels", positive_int_list, "a list of positive integers, e.g. [6, 12]"),
    ("net.hidden", positive_int_list, "a list of positive integers, e.g. [120, 60]"),
    ("net.num_classes", lambda value: value == NUM_CLASSES, f"{NUM_CLASSES} (Fashion-MNIST)"),
    ("net.kernel_size", positive_int, "a positive integer"),
    ("net.padding", non_negative_int, "an integer, 0 or more"),
    ("net.dropout", unit_fraction, "a probability in [0, 1)"),
    ("label_smoothing", unit_fraction, "a number in [0, 1)"),
    ("normalize_std", positive_number, "a positive number"),
    ("scheduler_interval", lambda value: value in ("epoch", "step"), "'epoch' or 'step'"),
    ("net.batch_norm", is_bool, "true or false"),
    ("channels_last", is_bool, "true or false"),
    ("compile", is_bool, "true or false"),
    ("tta_hflip", is_bool, "true or false"),
]

TRAINER_RULES: list[Rule] = [
    (
        "max_epochs",
        lambda value: value is None or value == -1 or positive_int(value),
        "a positive integer, or -1 for no limit",
    ),
    ("max_steps", lambda value: value == -1 or positive_int(value), "a positive integer, or -1"),
    (
        "limit_train_batches",
        lambda value: value is None or positive_int(value) or (is_number(value) and 0 < value <= 1),
        "a batch count of 1 or more, or a fraction in (0, 1]; 0 would train nothing",
    ),
    ("accumulate_grad_batches", positive_int, "a positive integer"),
]


def apply_rules(node: DictConfig, prefix: str, rules: list[Rule]) -> list[str]:
    problems = []
    for key, is_valid, allowed in rules:
        missing = object()
        value = node
        for part in key.split("."):
            value = value.get(part, missing) if isinstance(value, DictConfig) else missing
        if value is missing or is_valid(value):
            continue
        problems.append(f"Invalid {prefix}.{key}={shown(value)}: expected {allowed}.")
    return problems


def validation_count(val_size: Any, train_size: int | None) -> tuple[int | None, str | None]:
    """Return the number of validation images ``val_size`` requests, or what is allowed instead.

    The count is None when it depends on a training set size that is not known yet.
    """
    allowed = "a fraction in (0, 1) or an image count of 1 or more"
    if is_int(val_size):
        if val_size < 1:
            return None, allowed
        if train_size is not None and val_size >= train_size:
            return None, f"a count below the {train_size} training images, or a fraction in (0, 1)"
        return val_size, None
    if is_number(val_size) and 0 < val_size < 1:
        if train_size is None:
            return None, None
        count = round(train_size * val_size)
        if not 0 < count < train_size:
            return None, f"a fraction that leaves images on both sides of {train_size}"
        return count, None
    return None, allowed


def check_data(data: DictConfig) -> list[str]:
    problems = apply_rules(data, "data", DATA_RULES)
    if "val_size" not in data:
        return problems

    train_size = data.get("train_size")
    train_size = train_size if positive_int(train_size) else None
    val_count, allowed = validation_count(data.val_size, train_size)
    if allowed:
        problems.append(f"Invalid data.val_size={shown(data.val_size)}: expected {allowed}.")
        return problems

    # Without a known file size the datamodule repeats this check once the files are read.
    batch_size = data.get("batch_size")
    if val_count is not None and train_size is not None and positive_int(batch_size):
        train_count = train_size - val_count
        if batch_size > train_count:
            problems.append(
                f"Invalid data.batch_size={batch_size}: the training split has only "
                f"{train_count} images (data.train_size={train_size} minus "
                f"data.val_size={shown(data.val_size)}), so use a batch size up to {train_count}."
            )
    return problems


def trainer_arguments() -> set[str]:
    return set(inspect.signature(pl.Trainer.__init__).parameters) - {"self"}


def check_trainer_keys(trainer: DictConfig) -> list[str]:
    """Reject keys ``pl.Trainer`` does not take, suggesting the closest argument."""
    if trainer.get("_target_") not in LIGHTNING_TRAINERS:
        return []
    known = trainer_arguments()
    problems = []
    for key in trainer.keys():
        if key in HYDRA_INSTANTIATE_KEYS:
            continue
        if key in TRAINER_ARGUMENTS_FROM_GROUPS:
            problems.append(
                f"Invalid trainer.{key}: train.py builds it from the {key} config group; "
                f"choose {key}=<option> or add entries with +{key}.<name>=... instead."
            )
        elif key not in known:
            close = difflib.get_close_matches(str(key), sorted(known), n=1)
            hint = f"did you mean trainer.{close[0]}?" if close else "see help(pl.Trainer)."
            problems.append(f"Unknown key trainer.{key}: pl.Trainer takes no {key!r}; {hint}")
    return problems


def check_top_level(cfg: DictConfig) -> list[str]:
    problems = []
    seed = cfg.get("seed")
    if seed is not None and not is_int(seed):
        problems.append(
            f"Invalid seed={shown(seed)}: expected an integer, or null for a random one."
        )

    ckpt_path = cfg.get("ckpt_path")
    if ckpt_path is not None and ckpt_path not in SPECIAL_CKPT_PATHS:
        if not isinstance(ckpt_path, str) or not Path(ckpt_path).expanduser().is_file():
            absolute = Path(str(ckpt_path)).expanduser().resolve()
            problems.append(
                f"Checkpoint not found: {absolute} (ckpt_path={shown(ckpt_path)}); give the "
                "path of a .ckpt file, relative to the directory you launch from or absolute."
            )
    return problems


def check_config(cfg: DictConfig) -> None:
    """Raise ``ConfigError`` listing every invalid value in the composed training config."""
    problems = check_top_level(cfg)
    if isinstance(cfg.get("data"), DictConfig):
        problems += check_data(cfg.data)
    if isinstance(cfg.get("model"), DictConfig):
        problems += apply_rules(cfg.model, "model", MODEL_RULES)
    if isinstance(cfg.get("trainer"), DictConfig):
        problems += check_trainer_keys(cfg.trainer)
        problems += apply_rules(cfg.trainer, "trainer", TRAINER_RULES)
    if problems:
        raise ConfigError(" ".join(problems))
