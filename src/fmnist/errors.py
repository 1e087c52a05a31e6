"""Errors that end a run with one clear line instead of a traceback.

``train.py`` maps each kind to an exit status: 2 for input the user can fix, 3 for a diverged
run, and 128 plus the signal number for an interrupted one (130 for SIGINT, 143 for SIGTERM).
"""

# Exit status for input the user can fix.
EXIT_USER_ERROR = 2


class UserInputError(Exception):
    """Bad configuration, file or path; the message names it and says how to fix it."""


class DataError(UserInputError):
    """Missing, unreadable or invalid data files."""


class ConfigError(UserInputError):
    """A config value outside what its key allows."""


class CheckpointWriteError(UserInputError):
    """A checkpoint could not be written; the previous file at that path is unchanged."""


class TrainingStopped(Exception):
    """Training ended early; ``status`` and the message go into ``metrics.json``."""

    status = "failed"
    exit_status = 1


class NonFiniteLossError(TrainingStopped):
    """The training loss became NaN or infinite, so further steps cannot recover."""

    exit_status = 3


class TrainingInterrupted(TrainingStopped):
    """SIGINT or SIGTERM stopped training after a resumable checkpoint was saved."""

    status = "interrupted"

    def __init__(self, message: str, signal_number: int) -> None:
        super().__init__(message)
        self.exit_status = 128 + signal_number
