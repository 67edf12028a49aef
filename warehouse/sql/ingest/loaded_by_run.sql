-- The row versions one run stored for one file type (what its quality check validates).
SELECT h.* FROM {hist} AS h
WHERE h._load_id IN (SELECT load_id FROM load_audit WHERE run_id = $run_id AND file_type = $file_type
                     AND status = 'LOADED')
ORDER BY h._file, h._line
