-- Who wrote which restricted table, when, in which run (restricted zone; published as write_audit).
-- os_user is the pipeline's OS account, host the machine it ran on: no PII.
CREATE TABLE IF NOT EXISTS write_audit (
    run_id      VARCHAR NOT NULL,   -- the orchestrator run
    step        VARCHAR NOT NULL,   -- the asset or step that wrote
    table_name  VARCHAR NOT NULL,
    rows        BIGINT,             -- the table's rows after the write (NULL: the table does not exist)
    os_user     VARCHAR NOT NULL,
    host        VARCHAR NOT NULL,
    started_at  TIMESTAMP,          -- UTC; NULL when the caller did not say
    finished_at TIMESTAMP NOT NULL  -- UTC
);
