"""``ctip hub workspace ...``: attach an agency's workspace to the hub for the dashboard."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ctip.cli.output import emit_rows, note, resolve
from ctip.hub.cli import DataDir, Format, open_hub
from ctip.web import workspaces

workspace_app = typer.Typer(
    help="Agencies' workspaces: where the dashboard finds hotspots, forecasts and ads."
)


@workspace_app.command("attach")
def attach(
    agency: Annotated[str, typer.Argument(help="Agency name (see ctip hub agency list)")],
    path: Annotated[Path, typer.Argument(help="The agency's workspace folder (from ctip init)")],
    data_dir: DataDir = None,
) -> None:
    """Attach a workspace to an agency: its users see its hotspots, forecasts and ads."""
    with open_hub(data_dir) as hub:
        attached = workspaces.attach(hub, agency, path)
    note(f"attached {attached.path} to {attached.agency}; its users see it on the dashboard")


@workspace_app.command("detach")
def detach(
    agency: Annotated[str, typer.Argument(help="Agency name")],
    data_dir: DataDir = None,
) -> None:
    """Detach an agency's workspace (the workspace itself is not touched)."""
    with open_hub(data_dir) as hub:
        removed = workspaces.detach(hub, agency)
    note(
        f"detached the workspace of {agency}" if removed else f"{agency} had no workspace attached"
    )


@workspace_app.command("list")
def list_workspaces(data_dir: DataDir = None, fmt: Format = None) -> None:
    """List the attached workspaces with their agency and whether the folder is still there."""
    with open_hub(data_dir) as hub:
        rows = [
            {
                "agency": a.agency,
                "agency_id": a.agency_id,
                "path": str(a.path),
                "present": a.database.is_file(),
                "attached_at": a.attached_at,
                "attached_by": a.attached_by,
            }
            for a in workspaces.list_attachments(hub)
        ]
    emit_rows(rows, resolve(fmt), empty="no workspace attached")
