-- VR order-of-selection wait-list customers per program year: a case's span
-- [waitlist_start_date, waitlist_end_date or $as_of] overlaps the year. Served by WP: a WP
-- qualifying service dated inside the span and inside that program year.
CREATE OR REPLACE TEMP TABLE coen_out_vr AS
WITH spans AS (
    SELECT *
    FROM (
        SELECT coalesce('C' || x.customer_id::VARCHAR, 'vr:' || v.case_id) AS unit,
               x.customer_id,
               v.waitlist_start_date AS start_date,
               least(coalesce(v.waitlist_end_date, $as_of), $as_of) AS end_date
        FROM stg_vr_cases AS v
        LEFT JOIN coen_xref AS x ON x.source_system = 'vr' AND x.source_record_id = v.case_id
        WHERE v.waitlist_start_date <= $as_of
    )
    WHERE end_date >= start_date
),
years AS (
    SELECT program_year, coen_py_start(program_year) AS py_start, coen_py_end(program_year) AS py_end
    FROM (
        SELECT unnest(range(coen_py(min(start_date)), coen_py($as_of) + 1)) AS program_year
        FROM spans
    )
),
in_year AS (
    SELECT y.program_year, s.unit, s.customer_id,
           greatest(s.start_date, y.py_start) AS from_date,
           least(s.end_date, y.py_end) AS to_date
    FROM spans AS s
    JOIN years AS y ON s.start_date <= y.py_end AND s.end_date >= y.py_start
),
served AS (
    SELECT DISTINCT i.program_year, i.unit
    FROM in_year AS i
    JOIN coen_wp_services AS w
      ON w.customer_id = i.customer_id AND w.service_date BETWEEN i.from_date AND i.to_date
)
SELECT y.program_year,
       count(DISTINCT i.unit) AS waitlist_customers,
       count(DISTINCT s.unit) AS served_by_wp
FROM years AS y
LEFT JOIN in_year AS i ON i.program_year = y.program_year
LEFT JOIN served AS s ON s.program_year = i.program_year AND s.unit = i.unit
GROUP BY y.program_year;
