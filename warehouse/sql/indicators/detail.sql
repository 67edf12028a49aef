-- One row per exited, non-excluded unit and exit-based indicator: its cohort quarter (the exit
-- quarter), whether it is pending, in the denominator, in the numerator, and (EMP_Q2) the Q2 wages
-- for the median. Which report a row lands in (cohort windows, lags) is aggregate.sql's business.
--   EMP_Q2 / EMP_Q4: pending while quarter k after exit is undelivered, whatever else is known;
--     employed when total wages > 0; Youth ($youth_education): a post-exit education outcome dated
--     in that quarter counts too.
--   CREDENTIAL (not WP, denominator population only): pending while Q4 after exit (the end of the
--     one-year window) is undelivered; attained with a postsecondary credential from entry through
--     exit + 1 year, or a secondary one in that window and employed (wages in Q1-Q4 after exit) or
--     in education (dated from exit through exit + 1 year).
--   RETENTION_SAME_EMPLOYER: among those employed in Q2, retained when some FEIN paid wages in
--     both Q2 and Q4; pending while Q2 is undelivered, or employed in Q2 and Q4 undelivered. One
--     per customer (`who`, the latest exit) is chosen per report window in aggregate.sql.
CREATE OR REPLACE TEMP TABLE ind_detail AS
WITH x AS (
    SELECT f.unit_id, f.customer_id, f.program, f.entry_date, f.exit_date, f.exit_q, f.credential_cohort,
           coalesce(f.customer_id::VARCHAR, 'U' || f.unit_id) AS who,
           CAST(f.exit_date + INTERVAL 1 YEAR AS DATE) AS window_end
    FROM ind_unit_flags AS f
    WHERE f.exit_date IS NOT NULL AND NOT f.excluded
),
emp AS (
    SELECT x.*, k.k,
           NOT list_contains($delivered, x.exit_q + k.k) AS pend,
           coalesce(w.cents, 0) AS cents,
           $youth_education AND x.program = 'YOUTH' AND EXISTS (
               SELECT 1 FROM ind_events AS e
               WHERE e.unit_id = x.unit_id AND e.kind = 'EDU' AND ind_q(e.event_date) = x.exit_q + k.k
           ) AS in_edu
    FROM x
    CROSS JOIN (VALUES (2), (4)) AS k(k)
    LEFT JOIN ind_wages AS w ON w.customer_id = x.customer_id AND w.q = x.exit_q + k.k
),
cred AS (
    SELECT x.*,
           NOT list_contains($delivered, x.exit_q + 4) AS pend,
           EXISTS (SELECT 1 FROM ind_events AS e WHERE e.unit_id = x.unit_id AND e.kind = 'POSTSEC'
                   AND e.event_date BETWEEN x.entry_date AND x.window_end) AS postsec,
           EXISTS (SELECT 1 FROM ind_events AS e WHERE e.unit_id = x.unit_id AND e.kind = 'SECONDARY'
                   AND e.event_date BETWEEN x.entry_date AND x.window_end) AS secondary,
           EXISTS (SELECT 1 FROM ind_events AS e WHERE e.unit_id = x.unit_id AND e.kind = 'EDU'
                   AND e.event_date BETWEEN x.exit_date AND x.window_end) AS edu_after,
           EXISTS (SELECT 1 FROM ind_wages AS w WHERE w.customer_id = x.customer_id
                   AND w.q BETWEEN x.exit_q + 1 AND x.exit_q + 4 AND w.cents > 0) AS worked
    FROM x
    WHERE x.credential_cohort AND x.program <> 'WP'
),
ret AS (
    SELECT x.*,
           NOT list_contains($delivered, x.exit_q + 2) AS pend2,
           NOT list_contains($delivered, x.exit_q + 4) AS pend4,
           coalesce(w.cents, 0) > 0 AS emp2,
           EXISTS (SELECT 1 FROM ind_employers AS a JOIN ind_employers AS b
                       ON b.customer_id = a.customer_id AND b.employer_fein = a.employer_fein
                   WHERE a.customer_id = x.customer_id AND a.q = x.exit_q + 2 AND b.q = x.exit_q + 4)
               AS same
    FROM x
    LEFT JOIN ind_wages AS w ON w.customer_id = x.customer_id AND w.q = x.exit_q + 2
)
SELECT 'EMP_Q' || k::VARCHAR AS indicator, unit_id, who, program, exit_date, exit_q AS cohort_q,
       pend, NOT pend AS den, NOT pend AND (cents > 0 OR in_edu) AS num, cents
FROM emp
UNION ALL
SELECT 'CREDENTIAL', unit_id, who, program, exit_date, exit_q,
       pend, NOT pend, NOT pend AND (postsec OR (secondary AND (worked OR edu_after))), NULL
FROM cred
UNION ALL
SELECT 'RETENTION_SAME_EMPLOYER', unit_id, who, program, exit_date, exit_q,
       pend2 OR (emp2 AND pend4), emp2 AND NOT pend2 AND NOT pend4,
       emp2 AND NOT pend2 AND NOT pend4 AND same, NULL
FROM ret;
