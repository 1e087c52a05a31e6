"""Where the repository lives, so default paths do not depend on the launch directory."""

import os
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


def register_resolvers() -> None:
    """Register ``${repo_root:}`` for the Hydra configs."""
    OmegaConf.register_new_resolver("repo_root", repository_root, replace=True)
