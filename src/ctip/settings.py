"""CTIP settings: one pydantic-settings class read from ``CTIP_*`` environment variables.

Settings are built once at the edge (CLI start-up, server start-up) and passed down; nothing
mutates a global. Command-line options override the environment by constructing a new object.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Everything configurable, with the defaults a single analyst on a laptop needs."""

    model_config = SettingsConfigDict(env_prefix="CTIP_", extra="ignore", frozen=True)

    workspace: Path = Field(
        default=Path("ctip-workspace"),
        description="Folder holding the DuckDB workspace (ctip.duckdb) and its Parquet files.",
    )
    engine: Literal["duckdb", "spark"] = Field(
        default="duckdb", description="Batch engine for heavy steps."
    )
    spark_master: str = Field(
        default="local[*]",
        description="Spark master URL for --engine spark (local mode by default).",
    )
    small_count_threshold: int = Field(
        default=10, ge=1, description="Counts below this are shown as <k in outputs."
    )
    threads: int | None = Field(
        default=None, ge=1, description="DuckDB worker threads; default: all cores."
    )
    memory_limit: str | None = Field(
        default=None, description="DuckDB memory limit, e.g. '4GB'; default: DuckDB's own."
    )

    @property
    def database_path(self) -> Path:
        return self.workspace / "ctip.duckdb"
