-- Calendar quarter as one integer (year * 4 + quarter - 1) and the program year of a date
-- (PY N runs July 1 N - June 30 N+1): the cohort windows are written with these.
CREATE OR REPLACE TEMP MACRO ind_q(d) AS year(d) * 4 + quarter(d) - 1;
CREATE OR REPLACE TEMP MACRO ind_py(d) AS year(d) - CASE WHEN month(d) < 7 THEN 1 ELSE 0 END;
CREATE OR REPLACE TEMP MACRO ind_year_ok(py, all_years, max_py, years) AS
    CASE WHEN all_years THEN py <= max_py ELSE list_contains(years, py) END;
