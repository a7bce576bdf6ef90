-- 002: country indicator series (UNODC GLOTIP, US TIP report tiers, FBI UCR, Polaris) and
-- monitoring-and-evaluation initiatives.

CREATE TABLE indicator_series (
    source VARCHAR NOT NULL,
    indicator VARCHAR NOT NULL,
    place VARCHAR NOT NULL,
    place_name VARCHAR,
    year INTEGER NOT NULL,
    value DOUBLE,
    value_text VARCHAR,
    unit VARCHAR,
    breakdown VARCHAR,
    import_id VARCHAR NOT NULL,
    file_sha256 VARCHAR NOT NULL,
    row_number BIGINT NOT NULL,
    imported_at TIMESTAMPTZ NOT NULL
);

CREATE TABLE initiatives (
    name VARCHAR NOT NULL,
    description VARCHAR,
    start_date DATE NOT NULL,
    end_date DATE,
    place VARCHAR NOT NULL,
    indicators VARCHAR[] NOT NULL,
    comparison_places VARCHAR[] NOT NULL DEFAULT [],
    created_at TIMESTAMPTZ NOT NULL
);
