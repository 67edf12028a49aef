-- Adult Education reportable individuals: learners with attendance spells that stayed under the
-- hours threshold (no period of participation from them).
INSERT INTO reportable_individuals BY NAME
WITH people AS (
    SELECT person_key,
           max(customer_id) AS customer_id,
           first(student_id ORDER BY entry_date) FILTER (WHERE NOT qualifies) AS student_id,
           min(entry_date) FILTER (WHERE NOT qualifies) AS first_contact_date,
           max(last_service_date) FILTER (WHERE NOT qualifies) AS last_contact_date,
           sum(class_days) FILTER (WHERE NOT qualifies) AS contacts,
           sum(hours) FILTER (WHERE NOT qualifies) AS ae_hours,
           bool_or(qualifies) AS ever_participant
    FROM periods_ae_spells
    GROUP BY person_key
)
SELECT
    'ADULT_ED:' || student_id AS reportable_id,
    customer_id,
    'ADULT_ED' AS program,
    'adult_ed' AS source_system,
    student_id AS source_record_id,
    'UNDER_HOURS' AS basis,
    first_contact_date,
    last_contact_date,
    contacts,
    ae_hours,
    ever_participant,
    $as_of AS as_of
FROM people
WHERE student_id IS NOT NULL;
