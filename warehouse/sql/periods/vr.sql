-- Vocational Rehabilitation: a case is a period once IPE services began (SERVICE_START_DT, the
-- entry date); its exit is the closure. Cases closed with a type in $excluded_closures
-- (applicant, trial work, wait list, no IPE, before services) never were participants.
INSERT INTO periods_candidates BY NAME
SELECT
    'VR:' || v.case_id || ':' || strftime(v.service_start_date, '%Y%m%d') AS period_id,
    coalesce('C' || x.customer_id::VARCHAR, 'R' || v.client_id) AS person_key,
    x.customer_id,
    'VR' AS program,
    'vr' AS source_system,
    v.case_id AS source_record_id,
    v.client_id AS source_person_id,
    v.service_start_date AS entry_date,
    CASE WHEN v.closure_date <= $as_of THEN v.closure_date END AS exit_date,
    CASE WHEN v.closure_date <= $as_of THEN nullif(v.closure_reason, '00') END AS exit_reason,
    CASE WHEN v.closure_date <= $as_of THEN v.closure_date END AS last_service_date,
    CASE WHEN v.closure_date <= $as_of THEN 'RECORDED' END AS exit_basis,
    coalesce(v.education_training, false) AS in_education_or_training,
    v.application_date AS vr_application_date,
    v.eligibility_date AS vr_eligibility_date,
    v.ipe_date AS vr_ipe_date,
    v.oos_category AS vr_oos_category,
    CASE WHEN v.closure_date <= $as_of THEN v.closure_type END AS vr_closure_type,
    CASE WHEN v.closure_date <= $as_of THEN v.closure_reason END AS vr_closure_reason,
    v.primary_impairment AS vr_primary_impairment,
    $as_of AS as_of
FROM stg_vr_cases AS v
LEFT JOIN periods_xref AS x ON x.source_system = 'vr' AND x.source_record_id = v.case_id
WHERE v.service_start_date IS NOT NULL
  AND v.service_start_date <= $as_of
  AND NOT coalesce(list_contains($excluded_closures, v.closure_type), false);
