-- Each individual's set of programs in each program year, `+`-joined in the order of $programs,
-- counted; plus the year's unduplicated participants under $all_label (the combinations add up to it).
CREATE OR REPLACE TEMP TABLE coen_out_combinations AS
WITH per_unit AS (
    SELECT program_year, unit,
           string_agg(program, '+' ORDER BY list_position($programs, program)) AS programs
    FROM coen_in_year
    GROUP BY program_year, unit
)
SELECT program_year, programs, count(*) AS customers
FROM per_unit
GROUP BY program_year, programs
UNION ALL
SELECT y.program_year, $all_label AS programs, count(DISTINCT i.unit) AS customers
FROM coen_years AS y
LEFT JOIN coen_in_year AS i ON i.program_year = y.program_year
GROUP BY y.program_year;
