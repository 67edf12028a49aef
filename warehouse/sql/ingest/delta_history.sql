-- Rows loaded per DELTA file of a file type by earlier runs, oldest first (volume baseline).
SELECT rows_loaded FROM load_audit
WHERE file_type = $file_type AND extract_type = 'DELTA' AND status IN ('LOADED', 'SUPERSEDED')
  AND run_id IS DISTINCT FROM $run_id
ORDER BY extract_date, load_id
