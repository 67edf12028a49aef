-- The versions of a batch not held yet: a re-delivered version (same key and last-updated
-- stamp) is recognised and not stored twice; of identical copies the earliest delivery is kept,
-- so one catch-up run and night-by-night runs hold the same rows.
SELECT b.* FROM {batch} AS b
WHERE NOT EXISTS (
    SELECT 1 FROM {hist} AS h WHERE {match_sql}
)
QUALIFY row_number() OVER (PARTITION BY {version_cols} ORDER BY b._extract_date, b._file, b._line) = 1
