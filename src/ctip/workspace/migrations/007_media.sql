-- 007: images (PDQ perceptual hashes, SHA-256, small EXIF-free thumbnails), what they are
-- attached to (ads, cases, the hotel-room gallery), and case-image matches awaiting a person.

CREATE TABLE images (
    image_id VARCHAR NOT NULL,          -- sha256 of the file's bytes
    pdq VARCHAR NOT NULL,               -- 64 hex digits
    quality INTEGER NOT NULL,
    dihedral VARCHAR[] NOT NULL DEFAULT [],
    width INTEGER,
    height INTEGER,
    format VARCHAR,
    thumbnail BLOB,                     -- JPEG re-encoded from pixels: no EXIF, no GPS
    source VARCHAR NOT NULL,
    file_name VARCHAR NOT NULL,
    import_id VARCHAR NOT NULL,
    imported_at TIMESTAMPTZ NOT NULL
);

CREATE TABLE image_links (
    image_id VARCHAR NOT NULL,
    kind VARCHAR NOT NULL,              -- ad | case | gallery
    ref_id VARCHAR NOT NULL,
    linked_at TIMESTAMPTZ NOT NULL
);

CREATE TABLE hotels (
    hotel_id VARCHAR NOT NULL,
    name VARCHAR NOT NULL,
    chain VARCHAR,
    address VARCHAR,
    latitude DOUBLE,
    longitude DOUBLE,
    added_at TIMESTAMPTZ NOT NULL
);

CREATE TABLE gallery_photos (
    image_id VARCHAR NOT NULL,
    hotel_id VARCHAR NOT NULL,
    room VARCHAR,
    contributor VARCHAR,
    embedding FLOAT[],
    added_at TIMESTAMPTZ NOT NULL
);

CREATE TABLE image_match_queue (
    match_id VARCHAR NOT NULL,
    case_id VARCHAR NOT NULL,
    query_image VARCHAR NOT NULL,
    match_image VARCHAR NOT NULL,
    distance INTEGER NOT NULL,
    status VARCHAR NOT NULL,            -- pending | confirmed | rejected
    decided_by VARCHAR,
    decided_at TIMESTAMPTZ,
    note VARCHAR,
    queued_at TIMESTAMPTZ NOT NULL
);
