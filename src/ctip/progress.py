"""Progress reporting for long work: a rich spinner on a terminal, silence when piped."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Protocol


class Progress(Protocol):
    def step(self, message: str) -> None:
        """Say what the work is doing now."""


class SilentProgress:
    def step(self, message: str) -> None:
        return None


class ConsoleProgress:
    """Shows the current step on stderr with a spinner; used only when stderr is a terminal."""

    def __init__(self) -> None:
        from rich.console import Console

        self._console = Console(stderr=True)
        self._status: object | None = None

    @contextmanager
    def running(self, first: str) -> Iterator[ConsoleProgress]:
        with self._console.status(first) as status:
            self._status = status
            yield self
        self._status = None

    def step(self, message: str) -> None:
        if self._status is not None:
            self._status.update(message)  # type: ignore[attr-defined]
