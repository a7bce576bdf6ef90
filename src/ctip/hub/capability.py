"""The hub's commands: ``ctip serve``, ``ctip hub ...``, ``ctip push``, ``ctip audit ...``."""

from __future__ import annotations

import typer

from ctip.hub import cli


def register_cli(app: typer.Typer) -> None:
    app.command("serve")(cli.serve)
    app.command("push")(cli.push_cmd)
    app.add_typer(cli.hub_app, name="hub")
    app.add_typer(cli.audit_app, name="audit")
