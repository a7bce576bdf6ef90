"""SQLAlchemy Core descriptions of the hub tables that are written in bulk.

The schema itself is the Alembic migration (the source of truth, with its row-level security);
these mirror the columns so bulk inserts can use SQLAlchemy's multi-row INSERT ... RETURNING.
``tests/hub/test_schema.py`` checks they agree with the migrated database.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import BYTEA, JSONB, UUID

metadata = sa.MetaData()

cases = sa.Table(
    "cases",
    metadata,
    sa.Column("id", UUID(as_uuid=False), primary_key=True),
    sa.Column("agency_id", UUID(as_uuid=False), nullable=False),
    sa.Column("external_id", sa.Text),
    sa.Column("collection", sa.Text),
    sa.Column("record", JSONB, nullable=False),
    sa.Column("personal", BYTEA),
    sa.Column("key_version", sa.Integer),
    sa.Column("bi_identity_number", BYTEA),
    sa.Column("bi_email", BYTEA),
    sa.Column("bi_phone", BYTEA),
    sa.Column("bi_name", BYTEA),
    sa.Column("legal_basis", sa.Text, nullable=False),
    sa.Column("consent", sa.Boolean),
    sa.Column("source", sa.Text, nullable=False),
    sa.Column("import_id", UUID(as_uuid=False), nullable=False),
    sa.Column("file_sha256", sa.Text, nullable=False),
    sa.Column("row_number", sa.BigInteger, nullable=False),
    sa.Column("imported_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("created_by", UUID(as_uuid=False)),
)

quarantine = sa.Table(
    "quarantine",
    metadata,
    sa.Column("id", UUID(as_uuid=False), primary_key=True),
    sa.Column("agency_id", UUID(as_uuid=False), nullable=False),
    sa.Column("import_id", UUID(as_uuid=False), nullable=False),
    sa.Column("kind", sa.Text, nullable=False),
    sa.Column("source", sa.Text, nullable=False),
    sa.Column("file_sha256", sa.Text, nullable=False),
    sa.Column("row_number", sa.BigInteger, nullable=False),
    sa.Column("errors", JSONB, nullable=False),
    sa.Column("raw_enc", BYTEA, nullable=False),
    sa.Column("key_version", sa.Integer, nullable=False),
    sa.Column("quarantined_at", sa.DateTime(timezone=True)),
)

shared_cases = sa.Table(
    "shared_cases",
    metadata,
    sa.Column("share_id", UUID(as_uuid=False), primary_key=True),
    sa.Column("case_id", UUID(as_uuid=False), primary_key=True),
    sa.Column("owner_agency_id", UUID(as_uuid=False), nullable=False),
    sa.Column("recipient_agency_id", UUID(as_uuid=False), nullable=False),
    sa.Column("record", JSONB, nullable=False),
    sa.Column("personal", BYTEA),
    sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("shared_at", sa.DateTime(timezone=True)),
)

pprl_encodings = sa.Table(
    "pprl_encodings",
    metadata,
    sa.Column("agency_id", UUID(as_uuid=False), primary_key=True),
    sa.Column("schema_sha256", sa.Text, primary_key=True),
    sa.Column("key_id", sa.Text, primary_key=True),
    sa.Column("ref", sa.Text, primary_key=True),
    sa.Column("clk", BYTEA, nullable=False),
    sa.Column("uploaded_at", sa.DateTime(timezone=True)),
)
