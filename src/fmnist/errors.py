"""Errors caused by input the user can fix: reported as one line, without a traceback."""


class UserInputError(Exception):
    """Bad configuration, file or path; the message names it and says how to fix it."""


class DataError(UserInputError):
    """Missing, unreadable or invalid data files."""
