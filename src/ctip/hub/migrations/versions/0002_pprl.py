"""Privacy-preserving record linkage through the hub: deposited encodings, contacts, queries.

Agencies deposit Bloom-filter encodings (CLKs) of their records, name a contact route for
linkage questions, and ask "does any other agency hold this person?". Three tenant tables,
each under the usual row-level security (an agency reads and writes only its own rows):

- ``pprl_encodings``: one row per deposited record: the agency's own reference, the CLK
  (sealed with AES-256-GCM under a hub system key, like every other personal value at rest),
  and the linkage schema's hash and the secret's key id that say which encodings are
  comparable. An agency may hold several deposits (one per schema and key id), which is what
  lets it keep the old encodings beside the new ones while the agencies re-encode after a
  secret rotation.
- ``pprl_contacts``: the agency's contact route for linkage questions (its PPRL desk).
- ``pprl_queries``: the asking agency's log of questions and answers.

The comparison needs other agencies' encodings, which row-level security rightly hides from
the API's role. Two SECURITY DEFINER functions open exactly that much and no more:
``ctip_pprl_candidates`` returns (agency, sealed CLK) of the *other* agencies' deposits made
with the given schema and key id, never their references, so nothing can tie an encoding to a
record; ``ctip_pprl_contacts`` returns those agencies' contact routes; ``ctip_pprl_sets`` counts
the other agencies per (schema, key id), so a question made with the wrong secret can be told
why it compares with nobody. A second, privileged connection for the matcher was the
alternative; it was rejected because the API never connects as the schema owner, and an owner
connection reaches every table, not just these columns. A plain ``SELECT`` on
``pprl_encodings`` by the API role still sees only the caller's own rows.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-28
"""

from __future__ import annotations

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

SCHEMA = r"""
CREATE TABLE pprl_encodings (
    agency_id uuid NOT NULL REFERENCES agencies(id) ON DELETE CASCADE,
    schema_sha256 text NOT NULL CHECK (schema_sha256 ~ '^[0-9a-f]{64}$'),
    key_id text NOT NULL CHECK (key_id ~ '^[0-9a-f]{8,64}$'),
    ref text NOT NULL CHECK (length(ref) BETWEEN 1 AND 200),
    clk bytea NOT NULL CHECK (length(clk) BETWEEN 8 AND 2048),
    uploaded_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (agency_id, schema_sha256, key_id, ref)
);
CREATE INDEX pprl_encodings_sets ON pprl_encodings (schema_sha256, key_id, agency_id);

CREATE TABLE pprl_contacts (
    agency_id uuid PRIMARY KEY REFERENCES agencies(id) ON DELETE CASCADE,
    contact text NOT NULL CHECK (length(contact) BETWEEN 3 AND 300),
    updated_by uuid,
    updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE pprl_queries (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    agency_id uuid NOT NULL REFERENCES agencies(id) ON DELETE CASCADE,
    asked_by uuid,
    asked_at timestamptz NOT NULL DEFAULT now(),
    schema_sha256 text NOT NULL,
    key_id text NOT NULL,
    threshold double precision NOT NULL,
    queried integer NOT NULL,
    agencies_compared integer NOT NULL,
    answers jsonb NOT NULL DEFAULT '[]'
);
CREATE INDEX pprl_queries_agency ON pprl_queries (agency_id, asked_at DESC);

ALTER TABLE pprl_encodings ENABLE ROW LEVEL SECURITY;
CREATE POLICY pprl_encodings_own ON pprl_encodings USING (agency_id = ctip_current_agency())
    WITH CHECK (agency_id = ctip_current_agency());
ALTER TABLE pprl_contacts ENABLE ROW LEVEL SECURITY;
CREATE POLICY pprl_contacts_own ON pprl_contacts USING (agency_id = ctip_current_agency())
    WITH CHECK (agency_id = ctip_current_agency());
ALTER TABLE pprl_queries ENABLE ROW LEVEL SECURITY;
CREATE POLICY pprl_queries_own ON pprl_queries USING (agency_id = ctip_current_agency())
    WITH CHECK (agency_id = ctip_current_agency());

-- the comparison across agencies: encodings without references, for one schema and key -------
CREATE FUNCTION ctip_pprl_candidates(p_schema text, p_key text)
RETURNS TABLE (agency_id uuid, clk bytea)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, public AS $$
    SELECT e.agency_id, e.clk FROM pprl_encodings e
    WHERE e.schema_sha256 = p_schema AND e.key_id = p_key
      AND ctip_current_agency() IS NOT NULL AND e.agency_id <> ctip_current_agency()
    ORDER BY e.agency_id
$$;

CREATE FUNCTION ctip_pprl_contacts(p_schema text, p_key text)
RETURNS TABLE (agency_id uuid, contact text)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, public AS $$
    SELECT c.agency_id, c.contact FROM pprl_contacts c
    WHERE ctip_current_agency() IS NOT NULL AND c.agency_id <> ctip_current_agency()
      AND EXISTS (SELECT 1 FROM pprl_encodings e WHERE e.agency_id = c.agency_id
                  AND e.schema_sha256 = p_schema AND e.key_id = p_key)
$$;

CREATE FUNCTION ctip_pprl_sets()
RETURNS TABLE (schema_sha256 text, key_id text, agencies bigint)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, public AS $$
    SELECT e.schema_sha256, e.key_id, count(DISTINCT e.agency_id) FROM pprl_encodings e
    WHERE ctip_current_agency() IS NOT NULL AND e.agency_id <> ctip_current_agency()
    GROUP BY e.schema_sha256, e.key_id
$$;

REVOKE ALL ON FUNCTION ctip_pprl_candidates(text, text) FROM PUBLIC;
REVOKE ALL ON FUNCTION ctip_pprl_contacts(text, text) FROM PUBLIC;
REVOKE ALL ON FUNCTION ctip_pprl_sets() FROM PUBLIC;
"""

DROP = """
DROP FUNCTION IF EXISTS ctip_pprl_sets();
DROP FUNCTION IF EXISTS ctip_pprl_contacts(text, text);
DROP FUNCTION IF EXISTS ctip_pprl_candidates(text, text);
DROP TABLE IF EXISTS pprl_queries, pprl_contacts, pprl_encodings CASCADE;
"""


def upgrade() -> None:
    op.execute(SCHEMA)


def downgrade() -> None:
    op.execute(DROP)
