"""Load Lightning checkpoints of the classifier without running pickled code.

Every checkpoint is read with ``torch.load(weights_only=True)``, which accepts tensors and
plain Python containers only. The classifier stores its network, optimizer and scheduler as
plain-dict configs, so nothing else is needed. The network config's ``_target_`` is still
imported and called, so it is checked to name an ``nn.Module`` class first.
"""

import pickle
import zipfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch
from hydra.errors import InstantiationException
from hydra.utils import get_object
from torch import nn

from fmnist.classifier import FashionMNISTClassifier
from fmnist.errors import UserInputError


class CheckpointError(UserInputError):
    """A checkpoint that is missing, unreadable or not one of this project's classifiers."""


def resolve_checkpoint_path(ckpt_path: str | Path | None, option: str = "ckpt_path") -> Path:
    """Return the absolute path of an existing checkpoint file.

    A relative path is taken from the current directory, which is the directory the user
    launched from because the Hydra configs keep ``hydra.job.chdir`` false.
    """
    if ckpt_path is None or str(ckpt_path).strip() in ("", "???"):
        raise CheckpointError(f"No checkpoint given: set {option}=PATH to a .ckpt file.")
    path = Path(ckpt_path).expanduser().absolute()
    if not path.exists():
        raise CheckpointError(
            f"Checkpoint not found: {path}. Check {option}; run folders keep theirs in "
            "logs/train/runs/<date>_<time>/checkpoints/."
        )
    if not path.is_file():
        raise CheckpointError(f"Checkpoint {path} is not a file; set {option} to a .ckpt file.")
    return path


def load_checkpoint(path: Path) -> dict[str, Any]:
    """Read a checkpoint with ``weights_only=True`` and check that it is a Lightning one."""
    try:
        checkpoint = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as error:
        # torch reports both corrupt pickles and pickles that need code outside the allowlist.
        raise CheckpointError(
            f"Cannot load checkpoint {path} with weights_only=True ({unpickling_reason(error)}): "
            "it is corrupt or contains Python objects other than tensors and plain containers."
        ) from None
    except (RuntimeError, EOFError, OSError, zipfile.BadZipFile) as error:
        reason = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise CheckpointError(
            f"Cannot read checkpoint {path}: the file is truncated or not a PyTorch checkpoint "
            f"({reason}). Copy it again or pick another one."
        ) from None

    if not isinstance(checkpoint, Mapping) or "state_dict" not in checkpoint:
        raise CheckpointError(
            f"Checkpoint {path} has no state_dict, so it is not a Lightning checkpoint. "
            "Use a .ckpt file that train.py saved."
        )
    return dict(checkpoint)


def unpickling_reason(error: pickle.UnpicklingError) -> str:
    """Pick the specific cause out of torch's long weights-only error message."""
    message = str(error)
    marker = "WeightsUnpickler error:"
    if marker in message:
        message = message.split(marker, 1)[1]
    lines = [line.strip() for line in message.splitlines() if line.strip()]
    if not lines:
        return type(error).__name__
    return lines[0].split(". ")[0].rstrip(".")


def network_config(checkpoint: Mapping[str, Any], path: Path) -> dict[str, Any]:
    """Return the ``net`` config stored in the hyperparameters, checked to build an nn.Module."""
    hparams = checkpoint.get("hyper_parameters")
    net = hparams.get("net") if isinstance(hparams, Mapping) else None
    if not isinstance(net, Mapping) or not isinstance(net.get("_target_"), str):
        raise CheckpointError(
            f"Checkpoint {path} has no network config (hyper_parameters.net with a _target_), "
            "so it was not saved by FashionMNISTClassifier. Use a checkpoint from train.py."
        )

    target = net["_target_"]
    # NOTE: importing the named module runs its import-time code; only the class is checked.
    try:
        network_class = get_object(target)
    except ImportError:
        raise CheckpointError(
            f"Checkpoint {path} names the network class {target}, which cannot be imported. "
            "Install the package that defines it."
        ) from None
    if not (isinstance(network_class, type) and issubclass(network_class, nn.Module)):
        raise CheckpointError(
            f"Checkpoint {path} names {target} as its network, which is not a torch.nn.Module "
            "class, so it is not built."
        )
    return dict(net)


def build_classifier(checkpoint: Mapping[str, Any], path: Path) -> FashionMNISTClassifier:
    """Rebuild the classifier from the checkpoint's hyperparameters and load its weights."""
    network_config(checkpoint, path)
    hparams = dict(checkpoint["hyper_parameters"])
    try:
        model = FashionMNISTClassifier(**hparams)
    except (TypeError, ValueError, UserInputError, InstantiationException) as error:
        reason = str(error).splitlines()[0]
        raise CheckpointError(
            f"Checkpoint {path} has hyperparameters this version cannot build: {reason}."
        ) from None

    try:
        model.load_state_dict(checkpoint["state_dict"], strict=True)
    except RuntimeError as error:
        raise CheckpointError(
            f"Checkpoint {path} does not match the network its hyperparameters describe: "
            f"{describe_mismatch(str(error))}. The file was edited or saved by another model."
        ) from None
    model.eval()
    return model


def describe_mismatch(message: str) -> str:
    """Shorten torch's multi-line ``load_state_dict`` error to its first specific problem."""
    lines = [line.strip() for line in message.splitlines() if line.strip()]
    details = [line for line in lines[1:] if not line.startswith("Error(s)")]
    return (details[0] if details else lines[0]).rstrip(".")


def load_classifier(ckpt_path: str | Path | None) -> tuple[FashionMNISTClassifier, Path]:
    """Resolve, read and rebuild a classifier checkpoint; return the model and absolute path."""
    path = resolve_checkpoint_path(ckpt_path)
    model = build_classifier(load_checkpoint(path), path)
    return model, path
