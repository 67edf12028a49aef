-- Program year of a date and its bounds (PY N runs July 1 N - June 30 N+1).
CREATE OR REPLACE TEMP MACRO coen_py(d) AS year(d) - CASE WHEN month(d) < 7 THEN 1 ELSE 0 END;
CREATE OR REPLACE TEMP MACRO coen_py_start(py) AS make_date(py, 7, 1);
CREATE OR REPLACE TEMP MACRO coen_py_end(py) AS make_date(py + 1, 6, 30);
