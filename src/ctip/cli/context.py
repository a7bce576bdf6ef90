"""Per-invocation state shared by commands: the settings built from global options."""

from __future__ import annotations

from dataclasses import dataclass

import typer

from ctip.settings import Settings
from ctip.workspace import Workspace


@dataclass(frozen=True)
class CliState:
    settings: Settings


def state(ctx: typer.Context) -> CliState:
    root = ctx.find_root()
    if not isinstance(root.obj, CliState):  # commands invoked without the root callback
        root.obj = CliState(Settings())
    return root.obj


def open_workspace(
    ctx: typer.Context, *, create: bool = False, read_only: bool = False
) -> Workspace:
    return Workspace.open(state(ctx).settings, create=create, read_only=read_only)
