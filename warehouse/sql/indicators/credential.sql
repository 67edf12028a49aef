-- Credential attainment (not WP). Cohort for PY N: exits Jan 1 - Dec 31 N-1, in the denominator
-- population (ind_unit_flags.credential_cohort). Pending while Q4 after exit (the end of the
-- one-year window) is undelivered. Attained: a postsecondary credential from entry through exit
-- + 1 year; or a secondary one in that window and employed (wages in Q1-Q4 after exit) or in
-- education (dated from exit through exit + 1 year).
INSERT INTO ind_out
WITH x AS (
    SELECT f.*, year(f.exit_date) + 1 AS py, CAST(f.exit_date + INTERVAL 1 YEAR AS DATE) AS window_end,
           NOT list_contains($delivered, f.exit_q + 4) AS pend
    FROM ind_unit_flags AS f
    WHERE f.exit_date IS NOT NULL AND NOT f.excluded AND f.credential_cohort AND f.program <> 'WP'
),
y AS (
    SELECT x.program, x.py, x.pend,
           EXISTS (SELECT 1 FROM ind_events AS e WHERE e.unit_id = x.unit_id AND e.kind = 'POSTSEC'
                   AND e.event_date BETWEEN x.entry_date AND x.window_end) AS postsec,
           EXISTS (SELECT 1 FROM ind_events AS e WHERE e.unit_id = x.unit_id AND e.kind = 'SECONDARY'
                   AND e.event_date BETWEEN x.entry_date AND x.window_end) AS secondary,
           EXISTS (SELECT 1 FROM ind_events AS e WHERE e.unit_id = x.unit_id AND e.kind = 'EDU'
                   AND e.event_date BETWEEN x.exit_date AND x.window_end) AS edu_after,
           EXISTS (SELECT 1 FROM ind_wages AS w WHERE w.customer_id = x.customer_id
                   AND w.q BETWEEN x.exit_q + 1 AND x.exit_q + 4 AND w.cents > 0) AS worked
    FROM x
    WHERE ind_year_ok(x.py, $all_years, $max_py, $years)
),
g AS (
    SELECT program, py,
           count(*) FILTER (WHERE NOT pend AND (postsec OR (secondary AND (worked OR edu_after)))) AS num,
           count(*) FILTER (WHERE NOT pend) AS den,
           count(*) FILTER (WHERE pend) AS pend
    FROM y
    GROUP BY program, py
)
SELECT program, py, 'CREDENTIAL', num, den, pend, CASE WHEN den > 0 THEN num / den END
FROM g
WHERE den + pend > 0;
