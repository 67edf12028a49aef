-- Adult Education periods: the spells that reached the hours threshold; exit at the last class
-- once more than $days days have passed by $as_of without attendance.
INSERT INTO periods_candidates BY NAME
SELECT
    'ADULT_ED:' || p.student_id || ':' || strftime(p.entry_date, '%Y%m%d') AS period_id,
    p.person_key,
    p.customer_id,
    'ADULT_ED' AS program,
    'adult_ed' AS source_system,
    p.student_id AS source_record_id,
    p.student_id AS source_person_id,
    p.entry_date,
    CASE WHEN date_diff('day', p.last_service_date, $as_of) > $days THEN p.last_service_date END AS exit_date,
    p.last_service_date,
    CASE WHEN date_diff('day', p.last_service_date, $as_of) > $days THEN 'NINETY_DAYS' END AS exit_basis,
    p.class_days AS services,
    true AS in_education_or_training,
    p.hours AS ae_hours,
    p.participant_date AS ae_participant_date,
    s.program_type AS ae_program_type,
    s.diploma_at_entry AS ae_diploma_at_entry,
    s.highest_grade_at_entry AS ae_highest_grade_at_entry,
    s.section_225 AS ae_section_225,
    $as_of AS as_of
FROM periods_ae_spells AS p
JOIN stg_ae_students AS s ON s.student_id = p.student_id
WHERE p.qualifies;
