-- Linkage tables (restricted zone: they tie source records, and so identities, to customers).
-- Tables rewritten whole each night carry no PRIMARY KEY: DuckDB's index makes a bulk delete and
-- re-insert of ~1M rows several times slower. Their keys are unique by construction (tested).
CREATE TABLE IF NOT EXISTS linkage_models (
    model_id    VARCHAR PRIMARY KEY,   -- content digest of the model document
    trained_at  TIMESTAMP NOT NULL,
    run_date    DATE NOT NULL,
    records     BIGINT NOT NULL,       -- records it was trained on
    path        VARCHAR NOT NULL,      -- the JSON artifact, relative to the warehouse directory
    sha256      VARCHAR NOT NULL       -- of the artifact's bytes
);
-- Each person record as last linked: an identity digest tells a changed record from an unchanged one.
CREATE TABLE IF NOT EXISTS linkage_records (
    unique_id        VARCHAR NOT NULL,   -- source_system:source_record_id
    source_system    VARCHAR NOT NULL,
    source_record_id VARCHAR NOT NULL,
    identity_hash    UBIGINT NOT NULL
);
CREATE TABLE IF NOT EXISTS customer_xref (
    source_system    VARCHAR NOT NULL,
    source_record_id VARCHAR NOT NULL,
    customer_id      BIGINT NOT NULL    -- unique per (source_system, source_record_id)
);
CREATE TABLE IF NOT EXISTS customer_id_history (
    customer_id       BIGINT NOT NULL,
    event             VARCHAR NOT NULL,   -- CREATED, MERGED_INTO, SPLIT_FROM, RETIRED
    other_customer_id BIGINT,             -- the survivor (MERGED_INTO) or the origin (SPLIT_FROM)
    run_date          DATE NOT NULL,
    run_id            VARCHAR NOT NULL
);
CREATE SEQUENCE IF NOT EXISTS review_decision_seq START 1;
CREATE TABLE IF NOT EXISTS review_decisions (
    decision_id        BIGINT NOT NULL,
    source_system_l    VARCHAR NOT NULL,
    source_record_id_l VARCHAR NOT NULL,
    source_system_r    VARCHAR NOT NULL,
    source_record_id_r VARCHAR NOT NULL,
    decision           VARCHAR NOT NULL,   -- SAME (must-link) or NOT_SAME (cannot-link)
    reviewer           VARCHAR NOT NULL,
    decided_at         TIMESTAMP NOT NULL,
    note               VARCHAR,
    source_file        VARCHAR,            -- the decisions file it came from, if any
    source_line        BIGINT
);
CREATE TABLE IF NOT EXISTS review_decision_files (
    file_name VARCHAR NOT NULL,
    sha256    VARCHAR NOT NULL,
    rows      BIGINT NOT NULL,
    loaded_at TIMESTAMP NOT NULL,
    PRIMARY KEY (file_name, sha256)
);
CREATE TABLE IF NOT EXISTS review_queue (
    unique_id_l        VARCHAR NOT NULL,
    unique_id_r        VARCHAR NOT NULL,
    source_system_l    VARCHAR NOT NULL,
    source_record_id_l VARCHAR NOT NULL,
    source_system_r    VARCHAR NOT NULL,
    source_record_id_r VARCHAR NOT NULL,
    match_weight       DOUBLE,
    match_probability  DOUBLE,
    customer_id_l      BIGINT,
    customer_id_r      BIGINT,
    reason             VARCHAR,
    queued_on          DATE NOT NULL       -- first run that queued the pair
);
CREATE TABLE IF NOT EXISTS customer_identity (
    customer_id  BIGINT NOT NULL,   -- one row per customer
    records      BIGINT NOT NULL,
    systems      VARCHAR NOT NULL,   -- sorted, '+'-joined
    ssn          VARCHAR,
    first_name   VARCHAR,
    middle_name  VARCHAR,
    last_name    VARCHAR,
    birth_date   DATE,
    sex          VARCHAR,
    ssn_count    BIGINT NOT NULL,
    ssn_conflict BOOLEAN NOT NULL
);
CREATE TABLE IF NOT EXISTS linkage_runs (
    run_id        VARCHAR NOT NULL,
    run_date      DATE NOT NULL,
    mode          VARCHAR NOT NULL,   -- FULL or INCREMENTAL
    model_id      VARCHAR NOT NULL,
    records       BIGINT NOT NULL,
    dirty         BIGINT NOT NULL,    -- new or changed records scored tonight
    removed       BIGINT NOT NULL,    -- records gone from the sources since the last run
    pairs_scored  BIGINT NOT NULL,
    pairs_held    BIGINT NOT NULL,    -- scored pairs kept (>= review floor)
    links         BIGINT NOT NULL,    -- pairs at or above the threshold
    customers     BIGINT NOT NULL,
    created       BIGINT NOT NULL,
    merged        BIGINT NOT NULL,
    split         BIGINT NOT NULL,
    retired       BIGINT NOT NULL,
    review_queue  BIGINT NOT NULL,
    started_at    TIMESTAMP NOT NULL,
    finished_at   TIMESTAMP NOT NULL
);
