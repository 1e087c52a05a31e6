"""Checks before ``train.py ckpt_path=...`` resumes a run, so a bad resume fails up front.

The run folder itself is chosen by ``configs/hydra/train.yaml``: a checkpoint inside
``<run>/checkpoints/`` resumes into ``<run>``.
"""

import json
import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf

from fmnist.checkpoints import CheckpointError, load_checkpoint, resolve_checkpoint_path
from fmnist.classifier import to_plain
from fmnist.paths import checkpoint_run_dir

log = logging.getLogger(__name__)

# Settings a resumed run is expected to change; every other difference is logged as a warning.
RESUME_OVERRIDES = ("ckpt_path", "trainer.max_epochs", "trainer.max_steps")


def completed_epochs(checkpoint: Mapping[str, Any]) -> int:
    """Return how many training epochs had finished when the checkpoint was saved."""
    try:
        return int(checkpoint["loops"]["fit_loop"]["epoch_progress"]["current"]["processed"])
    except (KeyError, TypeError):
        return int(checkpoint.get("epoch", -1)) + 1


def check_network(cfg: DictConfig, checkpoint: Mapping[str, Any], path: Path) -> None:
    """Raise unless ``model.net`` builds the network whose weights the checkpoint contains."""
    saved = (checkpoint.get("hyper_parameters") or {}).get("net")
    configured = to_plain(cfg.model.get("net"))
    if saved is None or saved == configured:
        return
    changed = sorted(
        key
        for key in set(saved) | set(configured or {})
        if saved.get(key) != (configured or {}).get(key)
    )
    details = ", ".join(
        f"{key}: checkpoint {saved.get(key)!r}, config {(configured or {}).get(key)!r}"
        for key in changed
    )
    raise CheckpointError(
        f"Cannot resume from {path}: model.net differs from the network it was trained with "
        f"({details}). Resume with the same model overrides as the original run."
    )


def check_epochs_left(cfg: DictConfig, checkpoint: Mapping[str, Any], path: Path) -> None:
    """Raise when the checkpoint already reached ``trainer.max_epochs`` or ``max_steps``."""
    epochs = completed_epochs(checkpoint)
    max_epochs = cfg.trainer.get("max_epochs")
    if max_epochs is not None and max_epochs >= 0 and epochs >= max_epochs:
        raise CheckpointError(
            f"Checkpoint {path} already reached trainer.max_epochs={max_epochs} (completed "
            f"epochs: {epochs}), so there is nothing left to train. Resume with a larger value, "
            f"e.g. trainer.max_epochs={epochs + max(epochs, 1)}, or evaluate it with eval.py."
        )
    steps = int(checkpoint.get("global_step", 0))
    max_steps = cfg.trainer.get("max_steps")
    if max_steps is not None and max_steps > 0 and steps >= max_steps:
        raise CheckpointError(
            f"Checkpoint {path} already reached trainer.max_steps={max_steps} (completed steps: "
            f"{steps}), so there is nothing left to train. Resume with a larger value."
        )


def flatten(config: Any, prefix: str = "") -> dict[str, Any]:
    """Flatten nested dicts into ``{"a.b.c": value}``."""
    if not isinstance(config, Mapping):
        return {prefix: config}
    flat: dict[str, Any] = {}
    for key, value in config.items():
        flat.update(flatten(value, f"{prefix}.{key}" if prefix else str(key)))
    return flat


def warn_config_changes(cfg: DictConfig, run_dir: Path) -> None:
    """Log every setting that differs from the original run's ``.hydra/config.yaml``.

    Both configs are compared unresolved, so interpolations such as ``${paths.data_dir}``
    match as written.
    """
    original = flatten(OmegaConf.to_container(OmegaConf.load(run_dir / ".hydra" / "config.yaml")))
    current = flatten(OmegaConf.to_container(cfg, resolve=False))
    changed = [
        f"{key}: {original.get(key)!r} -> {current.get(key)!r}"
        for key in sorted(set(original) | set(current))
        if key not in RESUME_OVERRIDES and original.get(key) != current.get(key)
    ]
    if changed:
        log.warning(
            "This resumed run's config differs from the original in %s: %s. Pass the original "
            "overrides (see %s) to continue the same run.",
            run_dir,
            "; ".join(changed),
            run_dir / ".hydra" / "overrides.yaml",
        )


def keep_previous_metrics(output_dir: Path) -> None:
    """Rename the earlier ``metrics.json`` so the resumed run does not overwrite it."""
    metrics_path = output_dir / "metrics.json"
    if not metrics_path.is_file():
        return
    try:
        epochs = int(json.loads(metrics_path.read_text()).get("epochs"))
    except (ValueError, TypeError, AttributeError):
        epochs = None
    stem = f"metrics_after_{epochs}_epochs" if epochs is not None else "metrics_previous"
    target = output_dir / f"{stem}.json"
    number = 1
    while target.exists():
        target = output_dir / f"{stem}_{number}.json"
        number += 1
    metrics_path.rename(target)
    log.info("Kept the earlier metrics as %s", target)


def prepare_resume(cfg: DictConfig, output_dir: Path) -> Path | None:
    """Check ``cfg.ckpt_path`` for a resume and return its absolute path, or None without one.

    Raises ``CheckpointError`` before anything is built when the file is missing or
    unreadable, it has no epochs left to train, or its network differs from ``model.net``.
    """
    if cfg.get("ckpt_path") is None:
        return None
    path = resolve_checkpoint_path(cfg.ckpt_path)
    checkpoint = load_checkpoint(path)
    if "loops" not in checkpoint or "optimizer_states" not in checkpoint:
        raise CheckpointError(
            f"Cannot resume from {path}: it contains only weights, without the optimizer and loop "
            "states. Resume from a full checkpoint such as <run>/checkpoints/last.ckpt."
        )
    check_epochs_left(cfg, checkpoint, path)
    check_network(cfg, checkpoint, path)

    run_dir = checkpoint_run_dir(str(path))
    if run_dir is not None and run_dir.resolve() == output_dir.resolve():
        warn_config_changes(cfg, run_dir)
        keep_previous_metrics(output_dir)
    log.info(
        "Resuming from %s after %d epochs (global step %d), writing to %s",
        path,
        completed_epochs(checkpoint),
        int(checkpoint.get("global_step", 0)),
        output_dir,
    )
    return path
