"""One-line errors for command-line mistakes that Hydra reports over several lines.

Hydra rejects an unknown group option, a misspelled key and malformed override syntax while
it composes the config, before the entry point runs. It prints a multi-line message, and for
a misspelled key it suggests adding the key with ``+``, which would only hide the typo. The
decorator here turns these mistakes into one line that names the override and the fix.
"""

import difflib
import functools
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from hydra.errors import ConfigCompositionException, OverrideParseException
from omegaconf import DictConfig
from omegaconf.errors import ConfigAttributeError, ConfigKeyError

from fmnist.errors import EXIT_USER_ERROR
from fmnist.group_choices import find_unknown_choice
from fmnist.instantiation import one_line

FULL_ERROR_VARIABLE = "HYDRA_FULL_ERROR"
# The folder that every entry point's @hydra.main reads as config_path="../../configs".
CONFIG_DIR = Path(__file__).resolve().parents[2] / "configs"


def override_for(full_key: str, arguments: Sequence[str]) -> str:
    """Return the command-line override that sets ``full_key`` or a key under it."""
    for argument in arguments:
        key = argument.split("=", 1)[0].lstrip("+~")
        if key == full_key or key.startswith(full_key + "."):
            return argument
    return full_key


def describe_unknown_key(
    error: ConfigAttributeError | ConfigKeyError, arguments: Sequence[str]
) -> str:
    full_key = str(error.full_key)
    parent, _, name = full_key.rpartition(".")
    message = f"Unknown key {full_key} in the override {override_for(full_key, arguments)}"

    known = list(error.parent_node.keys()) if isinstance(error.parent_node, DictConfig) else []
    guesses = difflib.get_close_matches(name, [str(key) for key in known], n=1)
    if guesses:
        return (
            f"{message}; did you mean {parent + '.' if parent else ''}{guesses[0]}? Check the "
            "spelling against the output of --cfg job."
        )
    return (
        f"{message}. Check the spelling against the output of --cfg job, or write +key=value "
        "to add a key that the config does not have."
    )


def describe_composition_error(error: Exception, arguments: Sequence[str]) -> str:
    """Return one line for an error Hydra raised while composing the config."""
    if isinstance(error, OverrideParseException):
        reason = one_line(error).split(" See https://")[0].rstrip(".")
        return (
            f"Invalid override {error.override}: {reason}. Check brackets and quotes, and quote "
            "a value that contains characters such as ~ = , or spaces: \"key='value'\"."
        )

    # Depending on the node, OmegaConf reports a missing key as either of these two types.
    cause = error.__cause__
    if isinstance(cause, (ConfigAttributeError, ConfigKeyError)) and cause.full_key:
        return describe_unknown_key(cause, arguments)

    # Other causes keep Hydra's wording, joined into one line.
    text = one_line(error)
    if cause is not None:
        text += " " + one_line(cause)
    return f"Invalid command line: {text}"


def one_line_errors(
    config_name: str, config_dir: Path = CONFIG_DIR
) -> Callable[[Callable], Callable]:
    """Decorate a ``@hydra.main`` function so command-line mistakes fail in one line.

    Unknown group options are caught before Hydra starts. For the errors Hydra finds while
    composing, ``HYDRA_FULL_ERROR=1`` makes it raise them instead of printing them, so they
    can be reworded here. The variable stays set for the run, so an unexpected error later
    shows Python's full traceback. A user who set ``HYDRA_FULL_ERROR=1`` gets Hydra's full
    report.

    The checks run only when the function is called without arguments, as the command line
    calls it. A call that passes a config skips them, because ``@hydra.main`` then skips
    composing.
    """

    def decorate(main: Callable) -> Callable:
        @functools.wraps(main)
        def checked_main(*args: Any, **kwargs: Any) -> Any:
            if args or kwargs or os.environ.get(FULL_ERROR_VARIABLE) == "1":
                return main(*args, **kwargs)

            arguments = sys.argv[1:]
            message = find_unknown_choice(arguments, config_dir, config_name)
            if message is None:
                os.environ[FULL_ERROR_VARIABLE] = "1"
                try:
                    return main()
                except (ConfigCompositionException, OverrideParseException) as error:
                    message = describe_composition_error(error, arguments)
            print(f"Error: {message}", file=sys.stderr)
            sys.exit(EXIT_USER_ERROR)

        return checked_main

    return decorate
