-- 006: cryptocurrency transactions, address clusters, attribution tags and saved analyses
-- (ctip.crypto). Addresses and transaction hashes are kept once each in dictionary tables and
-- referred to by integer ids, so clustering and tracing join integers, not 64-character strings.
-- UTXO chains (btc, ltc, bch, doge) store inputs and outputs; account chains (eth and other
-- EVM chains, trx) store transfers. Values are in coin units (BTC, ETH), as DOUBLE.

CREATE TABLE crypto_addresses (
    address_id BIGINT NOT NULL,
    chain VARCHAR NOT NULL,
    address VARCHAR NOT NULL,
    kind VARCHAR,
    import_id VARCHAR NOT NULL
);

CREATE TABLE crypto_txids (
    tx_id BIGINT NOT NULL,
    chain VARCHAR NOT NULL,
    txid VARCHAR NOT NULL
);

CREATE TABLE crypto_transactions (
    tx_id BIGINT NOT NULL,
    chain VARCHAR NOT NULL,
    block_height BIGINT,
    block_hash VARCHAR,
    block_time TIMESTAMPTZ,
    is_coinbase BOOLEAN NOT NULL DEFAULT false,
    source VARCHAR NOT NULL,
    import_id VARCHAR NOT NULL,
    file_sha256 VARCHAR NOT NULL,
    row_number BIGINT NOT NULL,
    position INTEGER NOT NULL DEFAULT 0,
    imported_at TIMESTAMPTZ NOT NULL
);

CREATE TABLE crypto_inputs (
    tx_id BIGINT NOT NULL,
    n INTEGER NOT NULL,
    prev_tx_id BIGINT,
    prev_n INTEGER,
    address_id BIGINT,
    value DOUBLE,
    source VARCHAR NOT NULL,
    import_id VARCHAR NOT NULL,
    file_sha256 VARCHAR NOT NULL,
    row_number BIGINT NOT NULL,
    imported_at TIMESTAMPTZ NOT NULL
);

CREATE TABLE crypto_outputs (
    tx_id BIGINT NOT NULL,
    n INTEGER NOT NULL,
    address_id BIGINT,
    value DOUBLE NOT NULL,
    script_type VARCHAR,
    source VARCHAR NOT NULL,
    import_id VARCHAR NOT NULL,
    file_sha256 VARCHAR NOT NULL,
    row_number BIGINT NOT NULL,
    imported_at TIMESTAMPTZ NOT NULL
);

CREATE TABLE crypto_transfers (
    tx_id BIGINT NOT NULL,
    chain VARCHAR NOT NULL,
    from_id BIGINT NOT NULL,
    to_id BIGINT NOT NULL,
    value DOUBLE NOT NULL,
    asset VARCHAR NOT NULL,
    block_time TIMESTAMPTZ NOT NULL,
    block_height BIGINT,
    source VARCHAR NOT NULL,
    import_id VARCHAR NOT NULL,
    file_sha256 VARCHAR NOT NULL,
    row_number BIGINT NOT NULL,
    imported_at TIMESTAMPTZ NOT NULL
);

CREATE TABLE crypto_cluster_runs (
    run_id VARCHAR NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    chains VARCHAR[] NOT NULL,
    params JSON NOT NULL,
    transactions BIGINT NOT NULL,
    coinjoins BIGINT NOT NULL,
    addresses BIGINT NOT NULL,
    clusters BIGINT NOT NULL,
    largest BIGINT NOT NULL,
    seconds DOUBLE NOT NULL
);

CREATE TABLE crypto_clusters (
    address_id BIGINT NOT NULL,
    cluster_id BIGINT NOT NULL,
    run_id VARCHAR NOT NULL
);

CREATE TABLE crypto_coinjoins (
    tx_id BIGINT NOT NULL,
    rule VARCHAR NOT NULL,
    run_id VARCHAR NOT NULL
);

CREATE TABLE crypto_tags (
    chain VARCHAR NOT NULL,
    address VARCHAR NOT NULL,
    label VARCHAR NOT NULL,
    category VARCHAR,
    abuse VARCHAR,
    tag_source VARCHAR NOT NULL,
    confidence VARCHAR,
    confidence_level INTEGER,
    is_cluster_definer BOOLEAN NOT NULL DEFAULT false,
    actor VARCHAR,
    context VARCHAR,
    origin VARCHAR NOT NULL,
    tagpack VARCHAR,
    source VARCHAR NOT NULL,
    import_id VARCHAR NOT NULL,
    file_sha256 VARCHAR NOT NULL,
    row_number BIGINT NOT NULL,
    imported_at TIMESTAMPTZ NOT NULL
);

CREATE TABLE crypto_analyses (
    analysis_id VARCHAR NOT NULL,
    kind VARCHAR NOT NULL,
    name VARCHAR NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    params JSON NOT NULL,
    result JSON NOT NULL
);
