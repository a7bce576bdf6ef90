-- 004: online ads and what CTIP reads from them: identifiers with their evidence, indicator
-- flags and scores, near-duplicate clusters with their templates, networks, and the analyst
-- decisions later runs respect. Analysis tables hold the latest run of each step; ad_runs
-- keeps the history of runs.

CREATE TABLE ads (
    ad_key VARCHAR NOT NULL,
    id VARCHAR NOT NULL,
    title VARCHAR,
    body VARCHAR,
    site VARCHAR,
    location VARCHAR,
    posted_at TIMESTAMP,
    url VARCHAR,
    age INTEGER,
    images VARCHAR[] NOT NULL DEFAULT [],
    extra JSON,
    source VARCHAR NOT NULL,
    import_id VARCHAR NOT NULL,
    file_sha256 VARCHAR NOT NULL,
    row_number BIGINT NOT NULL,
    imported_at TIMESTAMPTZ NOT NULL
);

CREATE TABLE ad_runs (
    run_id VARCHAR NOT NULL,
    step VARCHAR NOT NULL,
    started_at TIMESTAMPTZ NOT NULL,
    finished_at TIMESTAMPTZ,
    ads BIGINT NOT NULL DEFAULT 0,
    params JSON,
    version VARCHAR
);

CREATE TABLE ad_identifiers (
    run_id VARCHAR NOT NULL,
    ad_key VARCHAR NOT NULL,
    kind VARCHAR NOT NULL,
    value VARCHAR NOT NULL,
    detail VARCHAR,
    field VARCHAR NOT NULL,
    start_pos INTEGER NOT NULL,
    end_pos INTEGER NOT NULL,
    evidence VARCHAR NOT NULL
);

CREATE TABLE ad_flags (
    run_id VARCHAR NOT NULL,
    ad_key VARCHAR NOT NULL,
    code VARCHAR NOT NULL,
    weight DOUBLE NOT NULL,
    evidence JSON NOT NULL,
    decision VARCHAR
);

CREATE TABLE ad_scores (
    run_id VARCHAR NOT NULL,
    ad_key VARCHAR NOT NULL,
    score DOUBLE NOT NULL,
    catalogue_version VARCHAR NOT NULL
);

CREATE TABLE ad_clusters (
    run_id VARCHAR NOT NULL,
    ad_key VARCHAR NOT NULL,
    cluster_id VARCHAR NOT NULL
);

CREATE TABLE ad_cluster_summaries (
    run_id VARCHAR NOT NULL,
    cluster_id VARCHAR NOT NULL,
    size BIGINT NOT NULL,
    template VARCHAR,
    slots JSON,
    decision VARCHAR
);

CREATE TABLE ad_networks (
    run_id VARCHAR NOT NULL,
    ad_key VARCHAR NOT NULL,
    network_id VARCHAR NOT NULL,
    component_id VARCHAR NOT NULL
);

CREATE TABLE ad_network_links (
    run_id VARCHAR NOT NULL,
    network_id VARCHAR NOT NULL,
    kind VARCHAR NOT NULL,
    value VARCHAR NOT NULL,
    ads BIGINT NOT NULL,
    decision VARCHAR
);

CREATE TABLE ad_decisions (
    decision_id VARCHAR NOT NULL,
    target_kind VARCHAR NOT NULL,
    target VARCHAR NOT NULL,
    members VARCHAR[] NOT NULL DEFAULT [],
    decision VARCHAR NOT NULL,
    analyst VARCHAR NOT NULL,
    decided_at TIMESTAMPTZ NOT NULL,
    note VARCHAR
);
