"""The dashboard capability: pages on ``ctip serve``, the workspace commands, the demo step."""

from __future__ import annotations

from typing import Any

import typer

from ctip.capabilities import DemoContext


def register_web(app: Any, hub: Any) -> None:
    """Mount the dashboard's pages and static files on the hub's app (``ctip serve``)."""
    from ctip.web.app import mount

    mount(app, hub)


def register_cli(app: typer.Typer) -> None:
    from ctip.hub.cli import hub_app
    from ctip.web.cli import workspace_app

    hub_app.add_typer(workspace_app, name="workspace")


def demo(context: DemoContext) -> None:
    """Start a demo hub next to the workspace, load records, attach the workspace, and say how
    to open the dashboard with freshly generated credentials."""
    from ctip.web.demo import run_demo

    run_demo(context)
