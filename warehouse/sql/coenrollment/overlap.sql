-- Every program year x program x other program: the program's participants in the year and how
-- many of them were co-enrolled (coen_pairs) in the other program during it.
CREATE OR REPLACE TEMP TABLE coen_out_overlap AS
WITH progs AS (
    SELECT unnest($programs) AS program
),
grid AS (
    SELECT y.program_year, p.program, o.program AS other_program
    FROM coen_years AS y, progs AS p, progs AS o
    WHERE p.program <> o.program
),
participants AS (
    SELECT program_year, program, count(DISTINCT unit) AS n
    FROM coen_in_year
    GROUP BY program_year, program
),
coenrolled AS (
    SELECT program_year, program, other_program, count(DISTINCT unit) AS n
    FROM coen_pairs
    GROUP BY program_year, program, other_program
)
SELECT g.program_year, g.program, g.other_program,
       coalesce(p.n, 0) AS participants,
       coalesce(c.n, 0) AS coenrolled
FROM grid AS g
LEFT JOIN participants AS p ON p.program_year = g.program_year AND p.program = g.program
LEFT JOIN coenrolled AS c
  ON c.program_year = g.program_year AND c.program = g.program AND c.other_program = g.other_program;
