-- Adult Ed learners of each program year and how many were co-enrolled (coen_pairs) during it in
-- each Title I program of $title1, and in any of them ($any_label).
CREATE OR REPLACE TEMP TABLE coen_out_adult_ed AS
WITH title1 AS (
    SELECT unnest($title1) AS title1_program
    UNION ALL
    SELECT $any_label
),
learners AS (
    SELECT program_year, count(DISTINCT unit) AS n
    FROM coen_in_year
    WHERE program = $adult_ed
    GROUP BY program_year
),
pairs AS (
    SELECT program_year, unit, other_program
    FROM coen_pairs
    WHERE program = $adult_ed AND list_contains($title1, other_program)
),
coenrolled AS (
    SELECT program_year, other_program AS title1_program, count(DISTINCT unit) AS n
    FROM pairs
    GROUP BY program_year, other_program
    UNION ALL
    SELECT program_year, $any_label, count(DISTINCT unit)
    FROM pairs
    GROUP BY program_year
)
SELECT y.program_year, t.title1_program,
       coalesce(l.n, 0) AS adult_ed_learners,
       coalesce(c.n, 0) AS coenrolled
FROM coen_years AS y
CROSS JOIN title1 AS t
LEFT JOIN learners AS l ON l.program_year = y.program_year
LEFT JOIN coenrolled AS c ON c.program_year = y.program_year AND c.title1_program = t.title1_program;
