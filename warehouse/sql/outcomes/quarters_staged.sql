-- Without an audit trail: the quarters present in the staged wage table.
SELECT DISTINCT year::INTEGER AS year, quarter::INTEGER AS quarter
FROM stg_ui_wages
WHERE year IS NOT NULL AND quarter IS NOT NULL
ORDER BY year, quarter;
