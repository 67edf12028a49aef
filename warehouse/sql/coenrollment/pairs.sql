-- Co-enrolled during PY N in `program` and `other_program`: a period of each that overlap, the
-- overlap falling (at least one day) inside PY N. Symmetric: (A, B) holds exactly when (B, A) does.
CREATE OR REPLACE TEMP TABLE coen_pairs AS
SELECT DISTINCT y.program_year, a.unit, a.program, b.program AS other_program
FROM coen_periods AS a
JOIN coen_periods AS b ON b.unit = a.unit AND b.program <> a.program
JOIN coen_years AS y
  ON greatest(a.start_date, b.start_date, y.py_start) <= least(a.end_date, b.end_date, y.py_end);
