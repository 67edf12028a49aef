-- Who participated in what during each program year: a period is in PY N when it overlaps it.
CREATE OR REPLACE TEMP TABLE coen_in_year AS
SELECT DISTINCT y.program_year, p.unit, p.program
FROM coen_periods AS p
JOIN coen_years AS y ON p.start_date <= y.py_end AND p.end_date >= y.py_start;
