-- Retention with the same employer, statewide (program $all_label). Cohort for PY N: exits Jan 1 -
-- Dec 31 N-1 after exclusions, one per customer: the latest exit. Among those employed in Q2 after
-- exit, retained when some FEIN paid wages in both Q2 and Q4. Pending while Q2 is undelivered, or
-- when employed in Q2 and Q4 is undelivered.
INSERT INTO ind_out
WITH x AS (
    SELECT coalesce(f.customer_id::VARCHAR, 'U' || f.unit_id) AS who, f.customer_id,
           year(f.exit_date) + 1 AS py, f.exit_q
    FROM ind_unit_flags AS f
    WHERE f.exit_date IS NOT NULL AND NOT f.excluded
      AND ind_year_ok(year(f.exit_date) + 1, $all_years, $max_py, $years)
    QUALIFY row_number() OVER (PARTITION BY who, py ORDER BY f.exit_date DESC) = 1
),
y AS (
    SELECT x.py,
           NOT list_contains($delivered, x.exit_q + 2) AS pend2,
           NOT list_contains($delivered, x.exit_q + 4) AS pend4,
           coalesce(w.cents, 0) > 0 AS emp2,
           EXISTS (SELECT 1 FROM ind_employers AS a JOIN ind_employers AS b
                       ON b.customer_id = a.customer_id AND b.employer_fein = a.employer_fein
                   WHERE a.customer_id = x.customer_id AND a.q = x.exit_q + 2 AND b.q = x.exit_q + 4)
               AS same
    FROM x
    LEFT JOIN ind_wages AS w ON w.customer_id = x.customer_id AND w.q = x.exit_q + 2
),
g AS (
    SELECT py,
           count(*) FILTER (WHERE emp2 AND NOT pend2 AND NOT pend4 AND same) AS num,
           count(*) FILTER (WHERE emp2 AND NOT pend2 AND NOT pend4) AS den,
           count(*) FILTER (WHERE pend2 OR (emp2 AND pend4)) AS pend
    FROM y
    GROUP BY py
)
SELECT $all_label, py, 'RETENTION_SAME_EMPLOYER', num, den, pend, CASE WHEN den > 0 THEN num / den END
FROM g
WHERE den + pend > 0;
