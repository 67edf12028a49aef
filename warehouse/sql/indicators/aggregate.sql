-- Each report window R in $windows, per program (retention: $all_label, statewide) and group:
-- numerator, denominator, pending, and for the median the count employed and the median wages.
-- Exit-based rows fall in the windows whose cohort quarters hold their exit (ind_lag); retention
-- takes one row per customer and window, their latest exit. Rows exist where the cohort holds at
-- least one unit (denominator + pending > 0); MSG where its denominator is > 0.
CREATE OR REPLACE TEMP TABLE ind_out AS
WITH w AS (
    SELECT unnest($windows) AS r
),
exit_based AS (
    SELECT d.*, w.r
    FROM ind_detail AS d
    JOIN w ON d.cohort_q BETWEEN w.r - ind_lag(d.indicator) - 3 AND w.r - ind_lag(d.indicator)
),
picked AS (
    SELECT * FROM exit_based WHERE indicator <> 'RETENTION_SAME_EMPLOYER'
    UNION ALL
    SELECT * FROM exit_based WHERE indicator = 'RETENTION_SAME_EMPLOYER'
    QUALIFY row_number() OVER (PARTITION BY who, r ORDER BY exit_date DESC, unit_id) = 1
),
g AS (
    SELECT CASE WHEN p.indicator = 'RETENTION_SAME_EMPLOYER' THEN $all_label ELSE p.program END AS program,
           p.r, p.indicator, grp.breakdown, grp.category,
           count(*) FILTER (WHERE p.num) AS num,
           count(*) FILTER (WHERE p.den) AS den,
           count(*) FILTER (WHERE p.pend) AS pend,
           count(*) FILTER (WHERE p.den AND p.cents > 0) AS employed,
           median(p.cents::DOUBLE) FILTER (WHERE p.den AND p.cents > 0) / 100.0 AS median_dollars
    FROM picked AS p
    JOIN ind_groups AS grp ON grp.unit_id = p.unit_id
    GROUP BY ALL
),
msg_units AS (
    SELECT DISTINCT m.unit_id, m.program, w.r,
           len(list_filter(m.gain_qs, lambda q: q BETWEEN w.r - 3 AND w.r)) > 0 AS gained
    FROM ind_msg AS m
    JOIN w ON m.q_start <= w.r AND m.q_end >= w.r - 3
),
msg AS (
    SELECT m.program, m.r, grp.breakdown, grp.category,
           count(DISTINCT m.unit_id) FILTER (WHERE m.gained) AS num,
           count(DISTINCT m.unit_id) AS den
    FROM msg_units AS m
    JOIN ind_groups AS grp ON grp.unit_id = m.unit_id
    GROUP BY ALL
)
SELECT program, r, breakdown, category, indicator, num AS numerator, den AS denominator, pend AS pending,
       CASE WHEN den > 0 THEN num / den END AS value
FROM g
WHERE den + pend > 0
UNION ALL
SELECT program, r, breakdown, category, 'MEDIAN_EARNINGS_Q2', NULL, employed, pend, median_dollars
FROM g
WHERE indicator = 'EMP_Q2' AND den + pend > 0
UNION ALL
SELECT program, r, breakdown, category, 'MSG', num, den, 0, num / den
FROM msg
WHERE den > 0;
