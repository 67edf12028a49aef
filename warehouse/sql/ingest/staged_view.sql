-- What reporting uses: the current rows that are neither voided nor removed at the source.
CREATE OR REPLACE VIEW {stg} AS
SELECT * EXCLUDE (_is_deleted, _removed_at_source) FROM {cur}
WHERE NOT _is_deleted AND NOT _removed_at_source;
