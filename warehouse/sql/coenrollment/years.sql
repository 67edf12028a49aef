-- Every program year from the one of the earliest entry up to the one containing $as_of.
CREATE OR REPLACE TEMP TABLE coen_years AS
SELECT program_year, coen_py_start(program_year) AS py_start, coen_py_end(program_year) AS py_end
FROM (
    SELECT unnest(range(coen_py(min(start_date)), coen_py($as_of) + 1)) AS program_year
    FROM coen_periods
);
