-- Rows of a batch that claim to be a version already held (same key and last-updated stamp) but
-- differ in content: a system must give a changed row a newer stamp, so such a row is set aside.
SELECT b._file, b._line, h._file AS held_file, h._line AS held_line
FROM {batch} AS b
JOIN {hist} AS h ON {match_sql}
WHERE h._row_hash <> b._row_hash
