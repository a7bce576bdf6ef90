-- 005: entity resolution runs, canonical entity ids, analysts' judgements, the review queue,
-- and the registry of public releases (k-anonymous extracts, synthetic data).

CREATE TABLE link_runs (
    run_id VARCHAR NOT NULL,
    started_at TIMESTAMPTZ NOT NULL,
    finished_at TIMESTAMPTZ,
    input_kind VARCHAR NOT NULL,
    inputs JSON NOT NULL,
    columns JSON NOT NULL,
    engine VARCHAR NOT NULL,
    threshold DOUBLE NOT NULL,
    records_read BIGINT NOT NULL,
    records_linked BIGINT NOT NULL,
    records_excluded BIGINT NOT NULL,
    pairs_scored BIGINT,
    clusters BIGINT,
    judgements_applied BIGINT NOT NULL DEFAULT 0,
    blocking_rules JSON,
    training JSON,
    model JSON,
    seconds JSON
);

-- The current canonical entity of every record that took part in a run; rewritten per record
-- by later runs, with the run that last placed it.
CREATE TABLE link_entities (
    record_id VARCHAR NOT NULL,
    entity_id VARCHAR NOT NULL,
    match_probability DOUBLE,
    source VARCHAR,
    run_id VARCHAR NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL
);

-- Every canonical id ever issued, so a retired id is never reused for another cluster.
CREATE TABLE link_entity_ids (
    entity_id VARCHAR NOT NULL,
    first_run_id VARCHAR NOT NULL
);

-- Analysts' decisions on pairs of records (id_a < id_b); the latest per pair counts.
CREATE TABLE link_judgements (
    id_a VARCHAR NOT NULL,
    id_b VARCHAR NOT NULL,
    verdict VARCHAR NOT NULL,
    note VARCHAR,
    judged_by VARCHAR NOT NULL,
    judged_at TIMESTAMPTZ NOT NULL
);

-- Borderline pairs of a run with the match-weight explanation of every comparison.
CREATE TABLE link_review (
    run_id VARCHAR NOT NULL,
    id_l VARCHAR NOT NULL,
    id_r VARCHAR NOT NULL,
    match_probability DOUBLE NOT NULL,
    match_weight DOUBLE NOT NULL,
    explanation JSON NOT NULL
);

-- Public releases made from the workspace: what, how protected, where written.
CREATE TABLE releases (
    release_id VARCHAR NOT NULL,
    kind VARCHAR NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    created_by VARCHAR NOT NULL,
    source VARCHAR NOT NULL,
    parameters JSON NOT NULL,
    output_path VARCHAR NOT NULL,
    output_sha256 VARCHAR,
    records_in BIGINT NOT NULL,
    records_out BIGINT NOT NULL,
    summary JSON NOT NULL
);
