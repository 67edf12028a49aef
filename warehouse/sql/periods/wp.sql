-- Wagner-Peyser: periods from qualifying (staff-assisted) services only, per person (a customer
-- with two registrations has one history). A gap of more than $days days between qualifying
-- services ends a period; the last one has exited, at its last qualifying service, once more
-- than $days days have passed by $as_of. Self-service, information-only and follow-up codes are
-- not in $codes, so they neither start nor extend a period.
INSERT INTO periods_candidates BY NAME
WITH svc AS (
    SELECT s.service_id, s.individual_id, s.service_date, s.office, x.customer_id,
           coalesce('C' || x.customer_id::VARCHAR, 'R' || s.individual_id) AS person_key
    FROM stg_wp_services AS s
    LEFT JOIN periods_xref AS x ON x.source_system = 'wp' AND x.source_record_id = s.individual_id
    WHERE s.service_date <= $as_of AND list_contains($codes, s.service_code)
),
marked AS (
    SELECT *,
           CASE WHEN date_diff('day', lag(service_date) OVER w, service_date) <= $days THEN 0 ELSE 1 END
               AS starts
    FROM svc
    WINDOW w AS (PARTITION BY person_key ORDER BY service_date, service_id)
),
numbered AS (
    SELECT *,
           sum(starts) OVER (PARTITION BY person_key ORDER BY service_date, service_id
                             ROWS UNBOUNDED PRECEDING) AS seq
    FROM marked
),
spans AS (
    SELECT person_key, seq,
           max(customer_id) AS customer_id,
           first(individual_id ORDER BY service_date, service_id) AS individual_id,
           first(office ORDER BY service_date, service_id) AS office,
           min(service_date) AS entry_date,
           max(service_date) AS last_service_date,
           count(*) AS services
    FROM numbered
    GROUP BY person_key, seq
)
SELECT
    'WP:' || p.individual_id || ':' || strftime(p.entry_date, '%Y%m%d') AS period_id,
    p.person_key,
    p.customer_id,
    'WP' AS program,
    'wp' AS source_system,
    p.individual_id AS source_record_id,
    p.individual_id AS source_person_id,
    p.entry_date,
    CASE WHEN date_diff('day', p.last_service_date, $as_of) > $days THEN p.last_service_date END AS exit_date,
    p.last_service_date,
    CASE WHEN date_diff('day', p.last_service_date, $as_of) > $days THEN 'NINETY_DAYS' END AS exit_basis,
    p.services,
    p.office,
    r.employment_status AS employment_status_at_entry,
    r.highest_education,
    r.ui_claimant,
    false AS in_education_or_training,
    $as_of AS as_of
FROM spans AS p
LEFT JOIN stg_wp_registrations AS r ON r.individual_id = p.individual_id;
