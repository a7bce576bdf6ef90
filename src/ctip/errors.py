"""The few exceptions CTIP raises on purpose.

A ``CtipError`` carries a one-line message meant for the person at the keyboard; the CLI prints
it without a traceback and exits with ``exit_code``. Anything else that escapes is a bug.
"""

from __future__ import annotations


class CtipError(Exception):
    """A failure the user can act on. Exit code 1."""

    exit_code = 1

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return f"{self.message} ({self.hint})" if self.hint else self.message


class BadInputError(CtipError):
    """The input or the command line is wrong: a missing file, an unreadable format, a bad flag.

    Exit code 2, like a usage error, so scripts can tell "fix your input" from "CTIP failed".
    """

    exit_code = 2


class NotFoundError(CtipError):
    """A named thing (an import, a record, a mapping) does not exist."""

    exit_code = 2


class EngineGapError(CtipError):
    """The selected engine cannot run a step; raised loudly instead of a silent fallback."""

    exit_code = 1
