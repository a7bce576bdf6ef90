"""The hub's first schema: tenants, users, credentials, cases, sharing, audit, keys.

Every tenant table carries ``agency_id`` and a row-level security policy comparing it with
``ctip_current_agency()``, the agency the application set for the current transaction. The
application connects as a role without BYPASSRLS that does not own these tables, so a query
that forgets its ``WHERE agency_id = ...`` still sees only its own agency's rows.

Authentication has to find a user before the agency is known; three SECURITY DEFINER
functions do exactly that look-up and nothing more.

Revision ID: 0001
Revises:
Create Date: 2025-01-01
"""

from __future__ import annotations

from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

SCHEMA = r"""
CREATE FUNCTION ctip_current_agency() RETURNS uuid LANGUAGE sql STABLE AS
$$ SELECT NULLIF(current_setting('ctip.agency_id', true), '')::uuid $$;

CREATE TABLE agencies (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    name text NOT NULL UNIQUE CHECK (length(name) BETWEEN 1 AND 200),
    created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE system_keys (
    name text PRIMARY KEY,
    wrapped bytea NOT NULL,
    master_key_id text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE agency_keys (
    agency_id uuid NOT NULL REFERENCES agencies(id) ON DELETE CASCADE,
    purpose text NOT NULL CHECK (purpose IN ('data', 'index')),
    version integer NOT NULL,
    wrapped bytea NOT NULL,
    master_key_id text NOT NULL,
    active boolean NOT NULL DEFAULT true,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (agency_id, purpose, version)
);
CREATE UNIQUE INDEX agency_keys_active ON agency_keys (agency_id, purpose) WHERE active;

CREATE TABLE users (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    agency_id uuid NOT NULL REFERENCES agencies(id) ON DELETE CASCADE,
    email text NOT NULL UNIQUE CHECK (email = lower(email)),
    role text NOT NULL CHECK (role IN ('admin', 'analyst', 'investigator', 'auditor', 'viewer')),
    password_hash text NOT NULL,
    totp_enc bytea,
    totp_key_version integer,
    totp_enabled boolean NOT NULL DEFAULT false,
    failed_logins integer NOT NULL DEFAULT 0,
    locked_until timestamptz,
    disabled boolean NOT NULL DEFAULT false,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX users_agency ON users (agency_id);

CREATE TABLE api_tokens (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    agency_id uuid NOT NULL REFERENCES agencies(id) ON DELETE CASCADE,
    user_id uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    name text NOT NULL DEFAULT '',
    token_hash bytea NOT NULL UNIQUE,
    prefix text NOT NULL,
    scopes text[] NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL,
    revoked_at timestamptz,
    last_used_at timestamptz
);
CREATE INDEX api_tokens_user ON api_tokens (agency_id, user_id);

CREATE TABLE sessions (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    agency_id uuid NOT NULL REFERENCES agencies(id) ON DELETE CASCADE,
    user_id uuid NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    session_hash bytea NOT NULL UNIQUE,
    csrf_hash bytea NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL,
    last_seen_at timestamptz NOT NULL DEFAULT now(),
    revoked_at timestamptz
);

CREATE TABLE imports (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    agency_id uuid NOT NULL REFERENCES agencies(id) ON DELETE CASCADE,
    kind text NOT NULL,
    source text NOT NULL,
    file_sha256 text NOT NULL,
    read integer NOT NULL DEFAULT 0,
    loaded integer NOT NULL DEFAULT 0,
    quarantined integer NOT NULL DEFAULT 0,
    duplicates integer NOT NULL DEFAULT 0,
    created_by uuid,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX imports_agency ON imports (agency_id, created_at);

CREATE TABLE cases (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    agency_id uuid NOT NULL REFERENCES agencies(id) ON DELETE CASCADE,
    external_id text,
    collection text,
    record jsonb NOT NULL,
    personal bytea,
    key_version integer,
    bi_identity_number bytea,
    bi_email bytea,
    bi_phone bytea,
    bi_name bytea,
    legal_basis text NOT NULL,
    consent boolean,
    source text NOT NULL,
    import_id uuid NOT NULL REFERENCES imports(id),
    file_sha256 text NOT NULL,
    row_number bigint NOT NULL,
    imported_at timestamptz NOT NULL,
    created_by uuid,
    UNIQUE (agency_id, file_sha256, row_number)
);
CREATE INDEX cases_listing ON cases (agency_id, imported_at DESC, id DESC);
CREATE INDEX cases_external ON cases (agency_id, external_id);
CREATE INDEX cases_collection ON cases (agency_id, collection);
CREATE INDEX cases_bi_identity ON cases (agency_id, bi_identity_number)
    WHERE bi_identity_number IS NOT NULL;
CREATE INDEX cases_bi_email ON cases (agency_id, bi_email) WHERE bi_email IS NOT NULL;
CREATE INDEX cases_bi_phone ON cases (agency_id, bi_phone) WHERE bi_phone IS NOT NULL;
CREATE INDEX cases_bi_name ON cases (agency_id, bi_name) WHERE bi_name IS NOT NULL;

CREATE TABLE quarantine (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    agency_id uuid NOT NULL REFERENCES agencies(id) ON DELETE CASCADE,
    import_id uuid NOT NULL REFERENCES imports(id),
    kind text NOT NULL,
    source text NOT NULL,
    file_sha256 text NOT NULL,
    row_number bigint NOT NULL,
    errors jsonb NOT NULL,
    raw_enc bytea NOT NULL,
    key_version integer NOT NULL,
    quarantined_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (agency_id, file_sha256, row_number)
);

CREATE TABLE shares (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    owner_agency_id uuid NOT NULL REFERENCES agencies(id) ON DELETE CASCADE,
    recipient_agency_id uuid NOT NULL REFERENCES agencies(id) ON DELETE CASCADE,
    status text NOT NULL CHECK (status IN ('requested', 'active', 'rejected', 'revoked')),
    purpose text NOT NULL,
    legal_basis text NOT NULL,
    fields text[] NOT NULL DEFAULT '{}',
    case_ids uuid[] NOT NULL DEFAULT '{}',
    collection text,
    expires_at timestamptz NOT NULL,
    requested_by uuid,
    decided_by uuid,
    created_at timestamptz NOT NULL DEFAULT now(),
    decided_at timestamptz,
    revoked_at timestamptz,
    wrapped_key bytea,
    master_key_id text,
    CHECK (owner_agency_id <> recipient_agency_id)
);
CREATE INDEX shares_owner ON shares (owner_agency_id, status);
CREATE INDEX shares_recipient ON shares (recipient_agency_id, status);

CREATE TABLE shared_cases (
    share_id uuid NOT NULL REFERENCES shares(id) ON DELETE CASCADE,
    case_id uuid NOT NULL REFERENCES cases(id) ON DELETE CASCADE,
    owner_agency_id uuid NOT NULL REFERENCES agencies(id) ON DELETE CASCADE,
    recipient_agency_id uuid NOT NULL REFERENCES agencies(id) ON DELETE CASCADE,
    record jsonb NOT NULL,
    personal bytea,
    expires_at timestamptz NOT NULL,
    shared_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (share_id, case_id)
);
CREATE INDEX shared_cases_recipient ON shared_cases (recipient_agency_id, case_id);
CREATE INDEX shared_cases_case ON shared_cases (case_id);

CREATE TABLE retention_policies (
    agency_id uuid NOT NULL REFERENCES agencies(id) ON DELETE CASCADE,
    legal_basis text NOT NULL DEFAULT '*',
    days integer NOT NULL CHECK (days > 0),
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (agency_id, legal_basis)
);

CREATE TABLE audit_log (
    seq bigint PRIMARY KEY,
    at timestamptz NOT NULL,
    agency_id uuid,
    subject_agency_id uuid,
    actor_id uuid,
    actor text NOT NULL,
    action text NOT NULL,
    target_type text NOT NULL DEFAULT '',
    target_id text NOT NULL DEFAULT '',
    details text NOT NULL DEFAULT '{}',
    client text NOT NULL DEFAULT '',
    prev_hash bytea NOT NULL,
    hash bytea NOT NULL
);
CREATE INDEX audit_log_agency ON audit_log (agency_id, at);
CREATE INDEX audit_log_at ON audit_log (at);
CREATE INDEX audit_log_subject ON audit_log (subject_agency_id, at);

CREATE TABLE audit_head (
    id integer PRIMARY KEY CHECK (id = 1),
    seq bigint NOT NULL,
    hash bytea NOT NULL
);
INSERT INTO audit_head (id, seq, hash) VALUES (1, 0, '\x'::bytea);

-- row-level security ---------------------------------------------------------------------------
ALTER TABLE agencies ENABLE ROW LEVEL SECURITY;
CREATE POLICY agencies_read ON agencies FOR SELECT USING (true);

ALTER TABLE agency_keys ENABLE ROW LEVEL SECURITY;
CREATE POLICY agency_keys_own ON agency_keys USING (agency_id = ctip_current_agency());

ALTER TABLE users ENABLE ROW LEVEL SECURITY;
CREATE POLICY users_own ON users USING (agency_id = ctip_current_agency())
    WITH CHECK (agency_id = ctip_current_agency());
ALTER TABLE api_tokens ENABLE ROW LEVEL SECURITY;
CREATE POLICY api_tokens_own ON api_tokens USING (agency_id = ctip_current_agency())
    WITH CHECK (agency_id = ctip_current_agency());
ALTER TABLE sessions ENABLE ROW LEVEL SECURITY;
CREATE POLICY sessions_own ON sessions USING (agency_id = ctip_current_agency())
    WITH CHECK (agency_id = ctip_current_agency());
ALTER TABLE imports ENABLE ROW LEVEL SECURITY;
CREATE POLICY imports_own ON imports USING (agency_id = ctip_current_agency())
    WITH CHECK (agency_id = ctip_current_agency());
ALTER TABLE cases ENABLE ROW LEVEL SECURITY;
CREATE POLICY cases_own ON cases USING (agency_id = ctip_current_agency())
    WITH CHECK (agency_id = ctip_current_agency());
ALTER TABLE quarantine ENABLE ROW LEVEL SECURITY;
CREATE POLICY quarantine_own ON quarantine USING (agency_id = ctip_current_agency())
    WITH CHECK (agency_id = ctip_current_agency());
ALTER TABLE retention_policies ENABLE ROW LEVEL SECURITY;
CREATE POLICY retention_own ON retention_policies USING (agency_id = ctip_current_agency())
    WITH CHECK (agency_id = ctip_current_agency());

ALTER TABLE shares ENABLE ROW LEVEL SECURITY;
CREATE POLICY shares_parties ON shares
    USING (ctip_current_agency() IN (owner_agency_id, recipient_agency_id))
    WITH CHECK (ctip_current_agency() IN (owner_agency_id, recipient_agency_id));

ALTER TABLE shared_cases ENABLE ROW LEVEL SECURITY;
CREATE POLICY shared_cases_read ON shared_cases FOR SELECT USING (
    (recipient_agency_id = ctip_current_agency() AND expires_at > now())
    OR owner_agency_id = ctip_current_agency());
CREATE POLICY shared_cases_write ON shared_cases FOR INSERT
    WITH CHECK (owner_agency_id = ctip_current_agency());
CREATE POLICY shared_cases_remove ON shared_cases FOR DELETE
    USING (ctip_current_agency() IN (owner_agency_id, recipient_agency_id));

ALTER TABLE audit_log ENABLE ROW LEVEL SECURITY;
CREATE POLICY audit_read ON audit_log FOR SELECT
    USING (ctip_current_agency() IN (agency_id, subject_agency_id));
CREATE POLICY audit_append ON audit_log FOR INSERT WITH CHECK (true);

-- authentication look-ups, before the agency is known -------------------------------------------
CREATE FUNCTION ctip_auth_password(p_email text)
RETURNS TABLE (user_id uuid, agency_id uuid, role text, password_hash text, disabled boolean,
               locked_until timestamptz, totp_enabled boolean)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, public AS $$
    SELECT u.id, u.agency_id, u.role, u.password_hash, u.disabled, u.locked_until,
           u.totp_enabled
    FROM users u WHERE u.email = lower(p_email)
$$;

CREATE FUNCTION ctip_auth_token(p_hash bytea)
RETURNS TABLE (token_id uuid, user_id uuid, agency_id uuid, role text, email text,
               scopes text[], expires_at timestamptz, revoked_at timestamptz, disabled boolean)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, public AS $$
    SELECT t.id, u.id, u.agency_id, u.role, u.email, t.scopes, t.expires_at, t.revoked_at,
           u.disabled
    FROM api_tokens t JOIN users u ON u.id = t.user_id AND u.agency_id = t.agency_id
    WHERE t.token_hash = p_hash
$$;

CREATE FUNCTION ctip_auth_session(p_hash bytea)
RETURNS TABLE (session_id uuid, user_id uuid, agency_id uuid, role text, email text,
               csrf_hash bytea, expires_at timestamptz, last_seen_at timestamptz,
               revoked_at timestamptz, disabled boolean)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, public AS $$
    SELECT s.id, u.id, u.agency_id, u.role, u.email, s.csrf_hash, s.expires_at,
           s.last_seen_at, s.revoked_at, u.disabled
    FROM sessions s JOIN users u ON u.id = s.user_id AND u.agency_id = s.agency_id
    WHERE s.session_hash = p_hash
$$;

REVOKE ALL ON FUNCTION ctip_auth_password(text) FROM PUBLIC;
REVOKE ALL ON FUNCTION ctip_auth_token(bytea) FROM PUBLIC;
REVOKE ALL ON FUNCTION ctip_auth_session(bytea) FROM PUBLIC;
"""

DROP = """
DROP FUNCTION IF EXISTS ctip_auth_session(bytea);
DROP FUNCTION IF EXISTS ctip_auth_token(bytea);
DROP FUNCTION IF EXISTS ctip_auth_password(text);
DROP TABLE IF EXISTS audit_head, audit_log, retention_policies, shared_cases, shares,
    quarantine, cases, imports, sessions, api_tokens, users, agency_keys, system_keys,
    agencies CASCADE;
DROP FUNCTION IF EXISTS ctip_current_agency();
"""


def upgrade() -> None:
    op.execute(SCHEMA)


def downgrade() -> None:
    op.execute(DROP)
