-- Title I: the case system's own periods, one per participation row. An entry after $as_of is
-- not yet a period; an exit dated after $as_of is not yet an exit.
INSERT INTO periods_candidates BY NAME
SELECT
    t.program || ':' || t.participation_id || ':' || strftime(t.entry_date, '%Y%m%d') AS period_id,
    coalesce('C' || x.customer_id::VARCHAR, 'R' || t.participant_id) AS person_key,
    x.customer_id,
    t.program,
    'title1' AS source_system,
    t.participation_id AS source_record_id,
    t.participant_id AS source_person_id,
    t.entry_date,
    CASE WHEN t.exit_date <= $as_of THEN t.exit_date END AS exit_date,
    CASE WHEN t.exit_date <= $as_of THEN nullif(t.exit_reason, '00') END AS exit_reason,
    CASE WHEN t.exit_date <= $as_of THEN t.exit_date END AS last_service_date,
    CASE WHEN t.exit_date <= $as_of THEN 'RECORDED' END AS exit_basis,
    t.employment_status AS employment_status_at_entry,
    t.highest_education,
    t.low_income,
    t.youth_in_school,
    t.training_type,
    t.training_start_date,
    t.training_end_date,
    coalesce(t.training_type <> '00', false) OR coalesce(t.program = 'YOUTH' AND t.youth_in_school, false)
        AS in_education_or_training,
    $as_of AS as_of
FROM stg_t1_participation AS t
LEFT JOIN periods_xref AS x ON x.source_system = 'title1' AND x.source_record_id = t.participation_id
WHERE t.entry_date <= $as_of;
