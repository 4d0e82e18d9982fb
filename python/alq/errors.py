"""alq's errors as Python exceptions.

Every failure of the library carries alq's one-line message (the one
``alq: error:`` prints) and its exit class, the code the CLI would exit with
(README "Exit codes").  Under MPI every rank raises the same exception.
"""


class AlqError(Exception):
    """An alq failure: ``message`` is alq's one line, ``exit_class`` its code."""

    exit_class = 1

    def __init__(self, message, exit_class=None):
        super().__init__(message)
        self.message = message
        if exit_class is not None:
            self.exit_class = exit_class


class InternalError(AlqError):
    """A bug in alq: an invariant did not hold (exit class 1)."""

    exit_class = 1


class UsageError(AlqError):
    """An unknown option or strategy, a missing value, budget 0 (exit class 2)."""

    exit_class = 2


class InputError(AlqError):
    """Bad input data: shape, dtype, NaN/Inf, probabilities, ids (exit class 3)."""

    exit_class = 3


class OutputError(AlqError):
    """An output could not be written (exit class 4)."""

    exit_class = 4


class AlqMemoryError(AlqError):
    """An allocation or --memory-per-rank failed (exit class 5)."""

    exit_class = 5


class MPIError(AlqError):
    """An MPI call failed (exit class 6)."""

    exit_class = 6


_BY_CLASS = {c.exit_class: c for c in (InternalError, UsageError, InputError, OutputError, AlqMemoryError, MPIError)}


def error_for(exit_class, message):
    """The exception of alq's exit class ``exit_class`` carrying ``message``."""
    return _BY_CLASS.get(exit_class, AlqError)(message, exit_class)
