-- Employment rate in quarter $k after exit. Cohort for PY N: Q2 exits July 1 N-1 - June 30 N
-- (program year of exit + 1); Q4 exits Jan 1 - Dec 31 N-1 (calendar year of exit + 1). An exiter
-- whose target quarter has not been delivered is pending, whatever else is known. Youth
-- ($youth_education): a post-exit education outcome dated in the target quarter also counts.
-- MEDIAN_EARNINGS_Q2 rides on the Q2 cohort: median total wages (cents -> dollars) of those
-- employed, over how many they are; the pending count is the cohort's.
INSERT INTO ind_out
WITH x AS (
    SELECT f.unit_id, f.customer_id, f.program,
           CASE WHEN $k = 2 THEN ind_py(f.exit_date) + 1 ELSE year(f.exit_date) + 1 END AS py,
           f.exit_q + $k AS tq
    FROM ind_unit_flags AS f
    WHERE f.exit_date IS NOT NULL AND NOT f.excluded
),
y AS (
    SELECT x.*,
           NOT list_contains($delivered, x.tq) AS pend,
           coalesce(w.cents, 0) AS cents,
           $youth_education AND x.program = 'YOUTH' AND EXISTS (
               SELECT 1 FROM ind_events AS e
               WHERE e.unit_id = x.unit_id AND e.kind = 'EDU' AND ind_q(e.event_date) = x.tq
           ) AS in_edu
    FROM x
    LEFT JOIN ind_wages AS w ON w.customer_id = x.customer_id AND w.q = x.tq
    WHERE ind_year_ok(x.py, $all_years, $max_py, $years)
),
g AS (
    SELECT program, py,
           count(*) FILTER (WHERE NOT pend AND (cents > 0 OR in_edu)) AS num,
           count(*) FILTER (WHERE NOT pend) AS den,
           count(*) FILTER (WHERE pend) AS pend,
           count(*) FILTER (WHERE NOT pend AND cents > 0) AS employed,
           median(cents::DOUBLE) FILTER (WHERE NOT pend AND cents > 0) / 100.0 AS median_dollars
    FROM y
    GROUP BY program, py
    HAVING count(*) > 0
)
SELECT program, py, 'EMP_Q' || $k::VARCHAR, num, den, pend, CASE WHEN den > 0 THEN num / den END
FROM g
UNION ALL
SELECT program, py, 'MEDIAN_EARNINGS_Q2', NULL, employed, pend, median_dollars
FROM g
WHERE $k = 2;
