"""How capabilities plug into the CLI, the demo and the report.

Each capability package (analytics, spatial, ads, crypto, media, link, privacy, hub, web, ...)
may ship a ``capability`` module with any of three functions:

- ``register_cli(app: typer.Typer) -> None`` adds its commands to ``ctip``;
- ``demo(context: DemoContext) -> None`` runs its part of ``ctip demo``;
- ``report_sections(context: ReportContext) -> list[Section]`` adds sections to the report;
- ``register_web(app, hub) -> None`` adds routes or pages to the hub's FastAPI app
  (``ctip serve`` calls it with the app and the running hub).

The list below fixes the order (the demo imports cases before analysing them). A capability
that is not installed, or has no such function, is skipped. A capability that is installed but
fails to import is reported on stderr, naming it and the error, and the others keep working:
one broken part must not take every command down. ``load_failures()`` lists such failures and
the test suite requires it to be empty.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

from ctip.settings import Settings

CAPABILITY_MODULES: tuple[str, ...] = (
    "ctip.ingest.capability",
    "ctip.analytics.capability",
    "ctip.spatial.capability",
    "ctip.ads.capability",
    "ctip.crypto.capability",
    "ctip.media.capability",
    "ctip.link.capability",
    "ctip.privacy.capability",
    "ctip.engine.capability",
    "ctip.hub.capability",
    "ctip.web.capability",
    "ctip.report.capability",
)


@dataclass
class DemoContext:
    """What a demo step gets: the open workspace, the shared data (if found), a way to talk."""

    workspace: Any  # ctip.workspace.Workspace (Any keeps this module free of heavy imports)
    settings: Settings
    data_dir: Path | None
    say: Callable[[str], None]
    results: dict[str, Any] = field(default_factory=dict)  # steps leave things for later steps


@dataclass(frozen=True)
class Section:
    """One part of the HTML report: an anchor id, a title and a self-contained HTML fragment."""

    id: str
    title: str
    html: str
    order: int = 100


@dataclass
class ReportContext:
    workspace: Any
    settings: Settings
    threshold: int
    exact: bool


_FAILURES: dict[str, str] = {}


def capability_modules() -> list[ModuleType]:
    modules = []
    for name in CAPABILITY_MODULES:
        try:
            modules.append(importlib.import_module(name))
        except ModuleNotFoundError as error:
            if error.name is not None and name.startswith(error.name):
                continue  # the capability is not part of this installation
            _report_failure(name, error)
        except Exception as error:  # a broken plug-in must not break every command
            _report_failure(name, error)
    return modules


def _report_failure(name: str, error: BaseException) -> None:
    if name not in _FAILURES:
        _FAILURES[name] = f"{error.__class__.__name__}: {error}"
        print(
            f"ctip: warning: capability {name} failed to load ({_FAILURES[name]})", file=sys.stderr
        )


def record_failure(name: str, error: BaseException) -> None:
    """Note a capability whose registration failed after import."""
    _report_failure(name, error)


def load_failures() -> dict[str, str]:
    capability_modules()
    return dict(_FAILURES)
