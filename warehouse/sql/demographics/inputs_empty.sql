-- Linkage has not run: no customers; every period falls back on its own source record.
CREATE OR REPLACE TEMP TABLE demog_xref (
    source_system VARCHAR, source_record_id VARCHAR, customer_id BIGINT
);
CREATE OR REPLACE TEMP TABLE demog_identity (
    customer_id BIGINT, systems VARCHAR, sex VARCHAR, birth_date DATE
);
