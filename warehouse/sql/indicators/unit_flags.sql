-- One row per unit: entry, exit, exit reason, and the flags its source records carry (Section 225,
-- the credential denominator); `excluded` leaves it out of the exit-based indicators.
CREATE OR REPLACE TEMP TABLE ind_unit_flags AS
WITH u AS (
    SELECT unit_id,
           any_value(customer_id) AS customer_id,
           any_value(program) AS program,
           min(entry_date) AS entry_date,
           max(exit_date) AS exit_date,
           bool_or(exit_date IS NULL) AS still_open,
           first(unit_exit_reason ORDER BY source_record_id) FILTER (WHERE unit_exit_reason IS NOT NULL)
               AS exit_reason
    FROM ind_units
    GROUP BY unit_id
),
rec AS (
    SELECT r.unit_id,
           bool_or(coalesce(s.section_225, false)) AS section225,
           bool_or(
               (r.source_system = 'title1'
                AND ((t.training_type IS NOT NULL AND NOT list_contains($no_credential_training, t.training_type))
                     OR (t.program = 'YOUTH' AND coalesce(t.youth_in_school, false))))
               OR (r.source_system = 'vr' AND coalesce(v.education_training, false))
               OR (r.source_system = 'adult_ed'
                   AND (s.program_type = 'IET'
                        OR (s.program_type = 'ASE' AND NOT coalesce(s.diploma_at_entry, false))))
           ) AS credential_cohort
    FROM ind_records AS r
    LEFT JOIN stg_t1_participation AS t ON r.source_system = 'title1' AND t.participation_id = r.record_id
    LEFT JOIN stg_vr_cases AS v ON r.source_system = 'vr' AND v.case_id = r.record_id
    LEFT JOIN stg_ae_students AS s ON r.source_system = 'adult_ed' AND s.student_id = r.record_id
    GROUP BY r.unit_id
)
SELECT u.unit_id, u.customer_id, u.program, u.entry_date,
       CASE WHEN u.still_open THEN NULL ELSE u.exit_date END AS exit_date,
       CASE WHEN u.still_open THEN NULL ELSE u.exit_reason END AS exit_reason,
       CASE WHEN u.still_open THEN NULL ELSE ind_q(u.exit_date) END AS exit_q,
       coalesce(rec.section225, false) AS section225,
       coalesce(rec.credential_cohort, false) AS credential_cohort,
       NOT u.still_open AND (
           coalesce(list_contains($excluded_all, u.exit_reason), false)
           OR (u.program = 'YOUTH' AND coalesce(list_contains($excluded_youth, u.exit_reason), false))
           OR (u.program = 'VR' AND coalesce(list_contains($excluded_vr, u.exit_reason), false))
           OR ($exclude_section225 AND coalesce(rec.section225, false))
       ) AS excluded
FROM u
LEFT JOIN rec ON rec.unit_id = u.unit_id;
