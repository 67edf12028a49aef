-- Linkage has not run: every period keeps a NULL customer.
CREATE OR REPLACE TEMP TABLE periods_xref (
    source_system VARCHAR, source_record_id VARCHAR, customer_id BIGINT
);
