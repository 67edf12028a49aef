-- Record -> customer, from linkage.
CREATE OR REPLACE TEMP TABLE coen_xref AS
SELECT source_system, source_record_id, customer_id FROM customer_xref;
