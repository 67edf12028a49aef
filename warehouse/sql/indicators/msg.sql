-- Measurable skill gains (not WP): every unit whose education-or-training span overlaps the
-- program year is in that year's denominator, once; in the numerator when it has a gain dated in
-- that program year. No pending.
INSERT INTO ind_out
WITH years AS (
    SELECT DISTINCT unit_id, program, unnest(range(ind_py(span_start), ind_py(span_end) + 1)) AS py
    FROM ind_spans
),
y AS (
    SELECT years.*,
           EXISTS (SELECT 1 FROM ind_events AS e WHERE e.unit_id = years.unit_id AND e.kind = 'GAIN'
                   AND ind_py(e.event_date) = years.py) AS gained
    FROM years
    WHERE ind_year_ok(years.py, $all_years, $max_py, $years)
),
g AS (
    SELECT program, py, count(*) FILTER (WHERE gained) AS num, count(*) AS den
    FROM y
    GROUP BY program, py
    HAVING count(*) > 0
)
SELECT program, py, 'MSG', num, den, 0, CASE WHEN den > 0 THEN num / den END
FROM g;
