-- Vocational Rehabilitation reportable individuals: applicants whose cases did not become a
-- period of participation (no IPE services yet, or closed before them).
INSERT INTO reportable_individuals BY NAME
WITH cases AS (
    SELECT v.case_id, v.application_date, v.closure_date, x.customer_id,
           coalesce('C' || x.customer_id::VARCHAR, 'R' || v.client_id) AS person_key
    FROM stg_vr_cases AS v
    LEFT JOIN periods_xref AS x ON x.source_system = 'vr' AND x.source_record_id = v.case_id
    WHERE v.application_date <= $as_of
),
vr AS (
    SELECT person_key, source_record_id FROM periods_final WHERE program = 'VR'
),
people AS (
    SELECT c.person_key,
           max(c.customer_id) AS customer_id,
           first(c.case_id ORDER BY c.application_date, c.case_id) AS case_id,
           min(c.application_date) AS first_contact_date,
           max(coalesce(CASE WHEN c.closure_date <= $as_of THEN c.closure_date END, c.application_date))
               AS last_contact_date,
           count(*) AS contacts
    FROM cases AS c
    WHERE c.case_id NOT IN (SELECT source_record_id FROM vr)
    GROUP BY c.person_key
)
SELECT
    'VR:' || p.case_id AS reportable_id,
    p.customer_id,
    'VR' AS program,
    'vr' AS source_system,
    p.case_id AS source_record_id,
    'APPLICANT' AS basis,
    p.first_contact_date,
    p.last_contact_date,
    p.contacts,
    EXISTS (SELECT 1 FROM vr WHERE vr.person_key = p.person_key) AS ever_participant,
    $as_of AS as_of
FROM people AS p;
