"""Per-agency workspaces attached to the hub: where the workspace-only products come from.

Hotspots, forecasts, ads, networks and the other products that are not case records live in
an agency's DuckDB workspace, not in the hub's PostgreSQL. The hub operator attaches one
workspace per agency (``ctip hub workspace attach AGENCY PATH``); the attachment is a small
JSON file ``<CTIP_DATA_DIR>/workspaces/<agency id>.json`` naming the folder. A page finds the
workspace from the **session's agency only**, never from anything in the URL, so one agency's
browser cannot name another's workspace.

The workspace is opened for each request and closed after it, so the analysts' own ``ctip``
commands can keep writing to it between page views; while one of them holds the file, pages
say so and ask to try again.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb

from ctip.errors import BadInputError, CtipError
from ctip.hub.admin import agency_id_by_name, audit_operator, operator
from ctip.hub.runtime import Hub
from ctip.settings import Settings
from ctip.workspace import Workspace
from ctip.workspace.workspace import DATABASE_FILE

_LOCKS: dict[Path, threading.Lock] = {}
_LOCKS_GUARD = threading.Lock()


class WorkspaceBusyError(CtipError):
    """Another process is writing to the workspace right now."""


@dataclass(frozen=True)
class Attachment:
    agency_id: str
    agency: str
    path: Path
    attached_at: str
    attached_by: str

    @property
    def database(self) -> Path:
        return self.path / DATABASE_FILE

    def version(self) -> tuple[float, ...]:
        """Changes whenever the workspace is written (the file or its write-ahead log)."""
        stamps = []
        for candidate in (self.database, self.database.with_name(DATABASE_FILE + ".wal")):
            try:
                stat = candidate.stat()
                stamps += [stat.st_mtime, float(stat.st_size)]
            except OSError:
                stamps += [0.0, 0.0]
        return tuple(stamps)


def folder(hub: Hub) -> Path:
    return hub.settings.data_dir / "workspaces"


def _pointer(hub: Hub, agency_id: str) -> Path:
    return folder(hub) / f"{agency_id}.json"


def attach(hub: Hub, agency: str, path: Path) -> Attachment:
    """Attach the workspace at ``path`` to ``agency`` (replacing any earlier one); audited."""
    path = path.expanduser().resolve()
    if not (path / DATABASE_FILE).is_file():
        raise BadInputError(
            f"{path}: no CTIP workspace here ({DATABASE_FILE} is missing)",
            hint="give the folder made by 'ctip init' (or 'ctip demo')",
        )
    with hub.owner.begin() as connection:
        agency_id = agency_id_by_name(connection, agency)
        attachment = Attachment(
            agency_id=agency_id,
            agency=agency,
            path=path,
            attached_at=datetime.now(UTC).isoformat(timespec="seconds"),
            attached_by=operator(),
        )
        target = _pointer(hub, agency_id)
        target.parent.mkdir(parents=True, exist_ok=True)
        temporary = target.with_suffix(".tmp")
        temporary.write_text(
            json.dumps(
                {
                    "agency_id": agency_id,
                    "agency": agency,
                    "path": str(path),
                    "attached_at": attachment.attached_at,
                    "attached_by": attachment.attached_by,
                },
                indent=2,
            ),
            encoding="utf-8",
        )
        temporary.replace(target)
        audit_operator(
            hub, connection, "workspace.attach", agency_id, "workspace", agency_id, path=str(path)
        )
    return attachment


def detach(hub: Hub, agency: str) -> bool:
    """Remove an agency's attachment (the workspace itself is left alone); audited."""
    with hub.owner.begin() as connection:
        agency_id = agency_id_by_name(connection, agency)
        target = _pointer(hub, agency_id)
        if not target.exists():
            return False
        target.unlink()
        audit_operator(hub, connection, "workspace.detach", agency_id, "workspace", agency_id)
    return True


def _read(pointer: Path) -> Attachment | None:
    try:
        data: dict[str, Any] = json.loads(pointer.read_text(encoding="utf-8"))
        return Attachment(
            agency_id=str(data["agency_id"]),
            agency=str(data.get("agency", "")),
            path=Path(data["path"]),
            attached_at=str(data.get("attached_at", "")),
            attached_by=str(data.get("attached_by", "")),
        )
    except (OSError, ValueError, KeyError, TypeError):
        return None


def attachment_for(hub: Hub, agency_id: str) -> Attachment | None:
    """The workspace attached to this agency (the id comes from the session), if any."""
    pointer = _pointer(hub, agency_id)
    if not pointer.is_file():
        return None
    found = _read(pointer)
    return found if found is not None and found.agency_id == agency_id else None


def list_attachments(hub: Hub) -> list[Attachment]:
    found = [_read(p) for p in sorted(folder(hub).glob("*.json"))]
    return [a for a in found if a is not None]


@contextmanager
def open_attached(attachment: Attachment, *, write: bool = False) -> Iterator[Workspace]:
    """Open the workspace for one request; closed afterwards so the CLI can use it too."""
    if not attachment.database.is_file():
        raise CtipError(
            f"the workspace attached to your agency is gone ({attachment.path})",
            hint="ask the hub operator to attach it again: ctip hub workspace attach",
        )
    settings = Settings(workspace=attachment.path)
    with _LOCKS_GUARD:
        lock = _LOCKS.setdefault(attachment.path, threading.Lock())
    # One request of this process at a time: DuckDB refuses to open a file read-only and
    # read-write at once in the same process.
    with lock:
        try:
            workspace = Workspace.open(settings, read_only=not write)
        except CtipError as error:
            raise WorkspaceBusyError(
                "your agency's workspace is in use by another ctip command right now",
                hint="try again in a moment, when that command has finished",
            ) from error
        except duckdb.Error as error:
            raise WorkspaceBusyError(
                f"your agency's workspace cannot be opened ({str(error).splitlines()[0]})",
                hint="try again in a moment",
            ) from error
        try:
            yield workspace
        finally:
            workspace.close()


def has_table(workspace: Workspace, name: str) -> bool:
    return bool(
        workspace.engine.scalar(
            "SELECT count(*) FROM information_schema.tables WHERE table_name = ?", [name]
        )
    )
