-- UI claimants per program year of the claim filing date (claims filed by $as_of). A claimant is a
-- customer, or an unlinked claim on its own; their first claim in the year is the one measured:
-- the first WP qualifying service on or after its filing date and at most $window days later.
-- Registered with WP: any WP registration of the customer (dated by $as_of, or undated).
CREATE OR REPLACE TEMP TABLE coen_out_ui AS
WITH claims AS (
    SELECT coalesce('C' || x.customer_id::VARCHAR, 'ui:' || c.claim_id) AS unit,
           x.customer_id,
           c.claim_filed_date AS filed,
           coalesce(c.resea_selected, false) AS resea
    FROM stg_ui_claims AS c
    LEFT JOIN coen_xref AS x ON x.source_system = 'ui' AND x.source_record_id = c.claim_id
    WHERE c.claim_filed_date <= $as_of
),
claimants AS (
    SELECT coen_py(filed) AS program_year, unit,
           any_value(customer_id) AS customer_id,
           min(filed) AS filed,
           bool_or(resea) AS resea
    FROM claims
    GROUP BY coen_py(filed), unit
),
registered AS (
    SELECT DISTINCT x.customer_id
    FROM coen_xref AS x
    JOIN stg_wp_registrations AS r ON r.individual_id = x.source_record_id
    WHERE x.source_system = 'wp' AND coalesce(r.registration_date <= $as_of, true)
),
first_service AS (
    SELECT c.program_year, c.unit, min(s.service_date) AS first_service
    FROM claimants AS c
    JOIN coen_wp_services AS s
      ON s.customer_id = c.customer_id
     AND s.service_date >= c.filed
     AND s.service_date <= c.filed + CAST($window AS INTEGER)
    GROUP BY c.program_year, c.unit
),
per_claimant AS (
    SELECT c.program_year, c.resea,
           r.customer_id IS NOT NULL AS registered,
           date_diff('day', c.filed, f.first_service) AS days
    FROM claimants AS c
    LEFT JOIN registered AS r ON r.customer_id = c.customer_id
    LEFT JOIN first_service AS f ON f.program_year = c.program_year AND f.unit = c.unit
),
years AS (
    SELECT unnest(range(min(program_year), coen_py($as_of) + 1)) AS program_year
    FROM claimants
)
SELECT y.program_year,
       count(p.program_year) AS claimants,
       count(*) FILTER (WHERE p.registered) AS registered_with_wp,
       count(p.days) AS served_by_wp,
       median(p.days)::DOUBLE AS median_days_to_first_wp_service,
       avg(p.days)::DOUBLE AS mean_days_to_first_wp_service,
       count(*) FILTER (WHERE p.resea) AS resea_selected
FROM years AS y
LEFT JOIN per_claimant AS p ON p.program_year = y.program_year
GROUP BY y.program_year;
