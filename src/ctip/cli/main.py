"""The ``ctip`` command: global options, command registration, and error handling.

Errors a user can act on (``CtipError``) print one line and exit 1, or 2 for bad input and
usage; anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from ctip import __version__
from ctip.capabilities import capability_modules, record_failure
from ctip.cli import demo as demo_cmd
from ctip.cli import workspace_cmds
from ctip.cli.context import CliState
from ctip.errors import CtipError
from ctip.settings import Settings

app = typer.Typer(
    name="ctip",
    help="CTIP: counter-trafficking intelligence platform.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    add_completion=False,
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"ctip {__version__}")
        raise typer.Exit()


@app.callback()
def main_options(
    ctx: typer.Context,
    workspace: Annotated[
        Path | None,
        typer.Option(
            "--workspace",
            envvar="CTIP_WORKSPACE",
            help="Workspace folder (default ./ctip-workspace)",
        ),
    ] = None,
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version")
    ] = False,
) -> None:
    """CTIP: harmonise, analyse, screen, link and share counter-trafficking data."""
    settings = Settings() if workspace is None else Settings(workspace=workspace)
    ctx.obj = CliState(settings)


app.command("init")(workspace_cmds.init)
app.command("status")(workspace_cmds.status)
app.command("demo")(demo_cmd.demo)
for _module in capability_modules():
    _register = getattr(_module, "register_cli", None)
    if _register is not None:
        try:
            _register(app)
        except Exception as _error:  # reported; the other commands keep working
            record_failure(_module.__name__, _error)


def main(argv: list[str] | None = None) -> int:
    """Run the CLI and return its exit code (tests call this directly)."""
    try:
        result = app(args=argv, prog_name="ctip", standalone_mode=False)
    except typer.Exit as stop:
        return int(stop.exit_code)
    except typer.TyperException as error:  # usage errors: bad option, missing argument
        show = getattr(error, "show", None)
        if callable(show):
            show()
        else:
            print(f"ctip: error: {error.format_message()}", file=sys.stderr)
        return int(error.exit_code)
    except typer.Abort:
        print("ctip: aborted", file=sys.stderr)
        return 1
    except CtipError as error:
        print(f"ctip: error: {error}", file=sys.stderr)
        return error.exit_code
    except KeyboardInterrupt:
        print("ctip: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0
    return result if isinstance(result, int) else 0


def run() -> None:
    sys.exit(main())
