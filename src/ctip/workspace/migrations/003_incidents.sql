-- 003: geocoded, dated incidents for hotspot and forecast work (ctip.spatial), and the
-- forecasts and backtests run on them, so reports can show what an analyst last produced.

CREATE TABLE incidents (
    incident_id VARCHAR NOT NULL,
    source VARCHAR NOT NULL,
    import_id VARCHAR NOT NULL,
    file_sha256 VARCHAR NOT NULL,
    row_number BIGINT NOT NULL,
    imported_at TIMESTAMPTZ NOT NULL,
    external_id VARCHAR,
    occurred_at TIMESTAMP NOT NULL,
    time_precision VARCHAR NOT NULL,
    latitude DOUBLE NOT NULL,
    longitude DOUBLE NOT NULL,
    category VARCHAR,
    extra JSON
);

CREATE TABLE forecast_runs (
    run_id VARCHAR NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    model VARCHAR NOT NULL,
    category VARCHAR,
    origin TIMESTAMP NOT NULL,
    horizon_days DOUBLE NOT NULL,
    train_days DOUBLE NOT NULL,
    train_events BIGINT NOT NULL,
    grid VARCHAR NOT NULL,
    crs VARCHAR NOT NULL,
    params JSON
);

CREATE TABLE forecast_cells (
    run_id VARCHAR NOT NULL,
    rank BIGINT NOT NULL,
    cell_id VARCHAR NOT NULL,
    latitude DOUBLE NOT NULL,
    longitude DOUBLE NOT NULL,
    area_km2 DOUBLE NOT NULL,
    expected DOUBLE NOT NULL,
    low BIGINT NOT NULL,
    high BIGINT NOT NULL,
    geometry JSON
);

CREATE TABLE backtest_results (
    run_id VARCHAR NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    category VARCHAR,
    model VARCHAR NOT NULL,
    coverage DOUBLE NOT NULL,
    hit_rate DOUBLE NOT NULL,
    pai DOUBLE NOT NULL,
    pai_low DOUBLE,
    pai_high DOUBLE,
    windows BIGINT NOT NULL,
    params JSON
);
