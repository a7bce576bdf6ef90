"""Hub settings: a pydantic-settings class of its own, read from the same ``CTIP_*`` variables.

The hub's knobs (database, master key, cookies, limits) matter only to ``ctip serve`` and the
``ctip hub`` commands, so they live here rather than in the workspace-centred
``ctip.settings.Settings``. Built once at the edge and passed down; never mutated.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class HubSettings(BaseSettings):
    """Everything the hub reads from the environment, with safe defaults."""

    model_config = SettingsConfigDict(env_prefix="CTIP_", extra="ignore", frozen=True)

    data_dir: Path = Field(
        default=Path("ctip-hub"),
        description="Hub data folder: the embedded PostgreSQL cluster and master.key.",
    )
    database_url: str | None = Field(
        default=None,
        description="External PostgreSQL URL of the schema owner (migrations, admin commands);"
        " default: the embedded server in data_dir.",
    )
    app_database_url: str | None = Field(
        default=None,
        description="URL the API uses (a role without BYPASSRLS); default: database_url with"
        " the app role and a password derived from the master key.",
    )
    database_name: str = Field(default="ctip", description="Database in the embedded server.")
    app_role: str = Field(
        default="ctip_app",
        pattern=r"^[a-z_][a-z0-9_]{0,62}$",
        description="PostgreSQL role the API connects as; it cannot bypass row-level security.",
    )
    master_key_file: Path | None = Field(
        default=None, description="Master key file (default <data_dir>/master.key)."
    )
    cookie_secure: bool = Field(default=True, description="Mark session cookies Secure.")
    session_hours: float = Field(default=12.0, gt=0, description="Absolute session lifetime.")
    session_idle_minutes: float = Field(default=30.0, gt=0, description="Idle session timeout.")
    login_max_failures: int = Field(
        default=5, ge=1, description="Failed logins before an account is locked."
    )
    login_lockout_minutes: float = Field(default=15.0, gt=0, description="Lockout duration.")
    login_attempts_per_minute: int = Field(
        default=20, ge=1, description="Login attempts allowed per client address per minute."
    )
    api_requests_per_second: float = Field(
        default=200.0, ge=0, description="Sustained API requests per principal (0: no limit)."
    )
    api_burst: int = Field(default=400, ge=1, description="Burst of API requests per principal.")
    max_body_bytes: int = Field(
        default=5 * 1024 * 1024, ge=1024, description="Largest request body accepted."
    )
    max_page_size: int = Field(default=500, ge=1, description="Largest page of a listing.")
    max_batch_records: int = Field(default=5000, ge=1, description="Records per POST /cases.")
    cors_origins: list[str] = Field(
        default_factory=list, description="Origins allowed by CORS; empty: CORS off."
    )
    token_max_days: int = Field(default=365, ge=1, description="Longest API token lifetime.")
    argon2_time_cost: int = Field(default=3, ge=1, description="argon2id passes.")
    argon2_memory_kib: int = Field(default=65536, ge=8, description="argon2id memory (KiB).")
    pool_size: int = Field(default=20, ge=1, description="Database connections kept open.")
    pprl_max_query_records: int = Field(
        default=5000, ge=1, le=10_000, description="Encodings per PPRL question."
    )
    pprl_max_deposit_records: int = Field(
        default=1_000_000, ge=1, description="Encodings an agency may keep deposited, in all."
    )
    pprl_queries_per_minute: int = Field(
        default=30,
        ge=1,
        description="PPRL questions per agency per minute: each question tells the asker"
        " whether other agencies hold a person, so they are bounded beyond the API rate.",
    )
    content_security_policy: str = Field(
        default="default-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
        description="Content-Security-Policy header sent with every response.",
    )

    @property
    def resolved_master_key_file(self) -> Path:
        return self.master_key_file or self.data_dir / "master.key"

    @property
    def postgres_dir(self) -> Path:
        return self.data_dir / "postgres"
