"""Where the repository lives, so default paths do not depend on the launch directory."""

import os
from datetime import datetime
from pathlib import Path

from omegaconf import OmegaConf


def repository_root() -> str:
    """Return the checkout that holds ``configs/``, or the current directory outside one.

    The package is installed in editable mode from ``src/fmnist``, so the checkout is two
    folders above this file.
    """
    candidate = Path(__file__).resolve().parents[2]
    if (candidate / "configs").is_dir():
        return str(candidate)
    return os.getcwd()


def checkpoint_run_dir(ckpt_path: str | None) -> Path | None:
    """Return the run folder of a checkpoint saved as ``<run>/checkpoints/NAME.ckpt``.

    Returns None when the file does not exist or its grandparent has no ``.hydra/config.yaml``,
    i.e. when the checkpoint was copied out of the run folder that saved it.
    """
    if not ckpt_path:
        return None
    path = Path(ckpt_path).expanduser().absolute()
    run_dir = path.parent.parent
    if path.is_file() and path.parent.name == "checkpoints":
        if (run_dir / ".hydra" / "config.yaml").is_file():
            return run_dir
    return None


def resume_run_dir(ckpt_path: str | None, new_run_dir: str) -> str:
    """Return the run folder to resume into, or claim ``new_run_dir`` for a fresh run.

    A fresh run claims its folder with ``unique_dir``, so two runs started in the same second
    get ``<time>`` and ``<time>~2`` instead of sharing one.
    """
    run_dir = checkpoint_run_dir(ckpt_path)
    if run_dir:
        return str(run_dir)
    from fmnist.rundirs import unique_dir

    return unique_dir(new_run_dir)


def resume_config_subdir(ckpt_path: str | None) -> str:
    """Return where Hydra saves this launch's config, keeping the original run's ``.hydra``."""
    if checkpoint_run_dir(ckpt_path) is None:
        return ".hydra"
    return datetime.now().strftime(".hydra/resume_%Y-%m-%d_%H-%M-%S")


def register_resolvers() -> None:
    """Register ``${repo_root:}``, ``${resume_run_dir:}`` and ``${resume_config_subdir:}``."""
    OmegaConf.register_new_resolver("repo_root", repository_root, replace=True)
    OmegaConf.register_new_resolver("resume_run_dir", resume_run_dir, replace=True, use_cache=True)
    OmegaConf.register_new_resolver(
        "resume_config_subdir", resume_config_subdir, replace=True, use_cache=True
    )
