"""Entity resolution and privacy-preserving record linkage: CLI commands and demo step."""

from __future__ import annotations

import typer

from ctip.capabilities import DemoContext


def register_cli(app: typer.Typer) -> None:
    from ctip.link import cli, pprl_cli

    app.add_typer(cli.app, name="link")
    app.add_typer(pprl_cli.app, name="pprl")


def demo(context: DemoContext) -> None:
    """Resolve 2,000 generated people (with known duplicates) and say how well it went."""
    from ctip.link.demo import run_demo

    run_demo(context)
