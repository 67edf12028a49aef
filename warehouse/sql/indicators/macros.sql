-- Calendar quarter as one integer (year * 4 + quarter - 1) and the program year of a date
-- (PY N runs July 1 N - June 30 N+1): the cohort windows are written with these.
CREATE OR REPLACE TEMP MACRO ind_q(d) AS year(d) * 4 + quarter(d) - 1;
CREATE OR REPLACE TEMP MACRO ind_py(d) AS year(d) - CASE WHEN month(d) < 7 THEN 1 ELSE 0 END;
-- Cohort windows. A report for the quarter R (the last quarter of its period; the PY N annual report
-- is R = quarter 2 of year N+1) takes the four quarters of exits ending `ind_lag` quarters before R:
-- EMP_Q2 / median exits July 1 N-1 - June 30 N (lag 4); EMP_Q4, credential and retention exits
-- Jan 1 - Dec 31 N-1 (lag 6); MSG the report period itself (lag 0). Quarterly reports are the same
-- windows for every R ("rolling four-quarter windows that end at the same lags").
CREATE OR REPLACE TEMP MACRO ind_lag(indicator) AS
    CASE indicator WHEN 'EMP_Q2' THEN 4 WHEN 'MEDIAN_EARNINGS_Q2' THEN 4 WHEN 'MSG' THEN 0 ELSE 6 END;
