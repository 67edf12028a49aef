-- The row versions one run stored for one file type (what its quality check validates); with
-- $load_ids, only those loads' rows (the check reads a catch-up a few files at a time).
SELECT h.* FROM {hist} AS h
WHERE h._load_id IN (SELECT load_id FROM load_audit WHERE run_id = $run_id AND file_type = $file_type
                     AND status = 'LOADED')
  AND ($load_ids IS NULL OR list_contains($load_ids, h._load_id))
ORDER BY h._file, h._line
