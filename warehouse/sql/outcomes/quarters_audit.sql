-- Wage quarters whose file has arrived: a LOADED wage drop is named YYYYQn.
SELECT DISTINCT
    CAST(substr(drop_name, 1, 4) AS INTEGER) AS year,
    CAST(substr(drop_name, 6, 1) AS INTEGER) AS quarter
FROM load_audit
WHERE file_type = $file_type AND status = 'LOADED' AND regexp_full_match(drop_name, '[0-9][0-9][0-9][0-9]Q[1-4]')
ORDER BY year, quarter;
