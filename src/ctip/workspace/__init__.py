"""The DuckDB workspace: one file per analyst or agency, with versioned schema migrations."""

from ctip.workspace.workspace import Workspace

__all__ = ["Workspace"]
