-- The warehouse's own record of what was delivered and what became of it (restricted zone;
-- published to the analytics zone as load_audit). One row per delivered file per delivery.
CREATE SEQUENCE IF NOT EXISTS load_id_seq START 1;
CREATE TABLE IF NOT EXISTS load_audit (
    load_id          BIGINT NOT NULL,
    source_system    VARCHAR NOT NULL,
    file_type        VARCHAR,
    drop_name        VARCHAR NOT NULL,
    file_name        VARCHAR NOT NULL,   -- path relative to the landing root
    extract_date     DATE,
    extract_type     VARCHAR,            -- DELTA, FULL, QUARTER
    status           VARCHAR NOT NULL,   -- LOADED, REJECTED, DUPLICATE, SUPERSEDED
    rows_in_file     BIGINT,
    rows_loaded      BIGINT,
    rows_quarantined BIGINT,
    rows_new         BIGINT,             -- versions not seen before (the rest were already held)
    reason           VARCHAR,
    sha256           VARCHAR,
    file_size        BIGINT,
    file_mtime_ns    BIGINT,
    control_sha256   VARCHAR,            -- digest of the .ctl beside it (a re-sent control file is a new delivery)
    loaded_at        TIMESTAMP NOT NULL,
    run_id           VARCHAR             -- the orchestrator run that wrote it
);
CREATE TABLE IF NOT EXISTS quarantine (
    load_id       BIGINT NOT NULL,
    source_system VARCHAR NOT NULL,
    file_type     VARCHAR NOT NULL,
    file_name     VARCHAR NOT NULL,
    line_number   BIGINT NOT NULL,
    kind          VARCHAR NOT NULL,
    field         VARCHAR,
    reason        VARCHAR NOT NULL,
    raw_record    VARCHAR
);
