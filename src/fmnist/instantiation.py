"""Instantiate config nodes so that errors caused by their values read as one line."""

from typing import Any

from hydra.errors import InstantiationException
from hydra.utils import instantiate
from pytorch_lightning.utilities.exceptions import MisconfigurationException

from fmnist.errors import ConfigError, UserInputError

# Errors a constructor raises for arguments it rejects: unknown keywords, bad values.
ARGUMENT_ERRORS = (TypeError, ValueError, MisconfigurationException)


def root_cause(error: BaseException) -> BaseException:
    """Follow Hydra's chain of InstantiationExceptions down to the error that started it."""
    while isinstance(error, InstantiationException) and error.__cause__ is not None:
        error = error.__cause__
    return error


def one_line(error: BaseException) -> str:
    return " ".join(str(error).split())


def build(node: Any, key: str, **kwargs: Any) -> Any:
    """Instantiate ``node`` (the config at ``key``), turning argument errors into ConfigError.

    A ``UserInputError`` raised by the constructor is passed on unchanged. A TypeError,
    ValueError or Lightning MisconfigurationException becomes ``ConfigError`` naming ``key``.
    Anything else keeps its traceback, since it points at a bug rather than a setting.
    """
    try:
        return instantiate(node, **kwargs)
    except InstantiationException as error:
        cause = root_cause(error)
        if isinstance(cause, UserInputError):
            raise cause from None
        if isinstance(cause, ARGUMENT_ERRORS):
            raise ConfigError(f"Invalid {key} config: {one_line(cause)}") from error
        raise


def build_list(group: Any, key: str) -> list[Any]:
    """Instantiate every entry of a config group such as ``callbacks`` or ``logger``."""
    if not group:
        return []
    return [
        build(entry, f"{key}.{name}")
        for name, entry in group.items()
        if entry and "_target_" in entry
    ]
