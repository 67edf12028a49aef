-- Linkage has not run: no record has a customer, so claims and wait-list cases match no WP service.
CREATE OR REPLACE TEMP TABLE coen_xref (
    source_system VARCHAR, source_record_id VARCHAR, customer_id BIGINT
);
