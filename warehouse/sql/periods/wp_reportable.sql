-- Wagner-Peyser reportable individuals: self-service / information-only contacts ($codes) that
-- fall outside every WP period of the same person (a period's reach runs from entry to its exit
-- plus $days, the days in which its exit was not yet known, or to $as_of while open); and, for
-- a person who never was a WP participant and had no such contact, the registration itself
-- (identifying information given).
INSERT INTO reportable_individuals BY NAME
WITH contacts AS (
    SELECT s.individual_id, s.service_date AS contact_date, s.service_id AS contact_id,
           true AS self_service, x.customer_id,
           coalesce('C' || x.customer_id::VARCHAR, 'R' || s.individual_id) AS person_key
    FROM stg_wp_services AS s
    LEFT JOIN periods_xref AS x ON x.source_system = 'wp' AND x.source_record_id = s.individual_id
    WHERE s.service_date <= $as_of AND list_contains($codes, s.service_code)
    UNION ALL
    SELECT r.individual_id, r.registration_date, NULL, false, x.customer_id,
           coalesce('C' || x.customer_id::VARCHAR, 'R' || r.individual_id)
    FROM stg_wp_registrations AS r
    LEFT JOIN periods_xref AS x ON x.source_system = 'wp' AND x.source_record_id = r.individual_id
    WHERE r.registration_date <= $as_of
),
wp AS (
    SELECT person_key, entry_date, coalesce(exit_date + $days, $as_of) AS reach
    FROM periods_final
    WHERE program = 'WP'
),
outside AS (
    SELECT c.*, EXISTS (SELECT 1 FROM wp WHERE wp.person_key = c.person_key) AS ever_participant
    FROM contacts AS c
    WHERE NOT EXISTS (
        SELECT 1 FROM wp
        WHERE wp.person_key = c.person_key AND c.contact_date BETWEEN wp.entry_date AND wp.reach
    )
),
people AS (
    SELECT person_key,
           max(customer_id) AS customer_id,
           bool_or(self_service) AS self_service,
           bool_or(ever_participant) AS ever_participant,
           first(individual_id ORDER BY self_service DESC, contact_date, contact_id) AS individual_id,
           min(contact_date) FILTER (WHERE self_service) AS first_self_service,
           max(contact_date) FILTER (WHERE self_service) AS last_self_service,
           min(contact_date) AS first_registration,
           count(*) FILTER (WHERE self_service) AS contacts
    FROM outside
    GROUP BY person_key
)
SELECT
    'WP:' || individual_id AS reportable_id,
    customer_id,
    'WP' AS program,
    'wp' AS source_system,
    individual_id AS source_record_id,
    CASE WHEN self_service THEN 'SELF_SERVICE' ELSE 'REGISTERED' END AS basis,
    CASE WHEN self_service THEN first_self_service ELSE first_registration END AS first_contact_date,
    CASE WHEN self_service THEN last_self_service ELSE first_registration END AS last_contact_date,
    contacts,
    ever_participant,
    $as_of AS as_of
FROM people
WHERE self_service OR NOT ever_participant;
