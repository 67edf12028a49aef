-- Dated outcomes per period from the period's own source records (no credit across programs), in
-- the Title I vocabulary: kind CREDENTIAL (code = credential type), SKILL_GAIN (code = skill-gain
-- type) or POST_EXIT_EDUCATION. Adult Ed outcomes are keyed by student: each goes to the one period
-- of that student with the latest entry on or before its date (as in indicators/events.sql), so an
-- outcome is never credited to two periods. Adult Ed HSE / diploma is a credential of type
-- $ae_diploma_credential and a skill gain of type $ae_diploma_gain; an EFL gain (a later test in the
-- period with an EFL above the period's first test) is a skill gain of type $ae_efl_gain. A
-- credential without a type code is left out (the indicators cannot count it either). Nothing dated
-- after $as_of.
CREATE OR REPLACE TEMP TABLE pirl_events AS
WITH t1 AS (
    SELECT r.period_id, o.outcome_type AS kind, o.outcome_code AS code, o.outcome_date AS event_date
    FROM pirl_records AS r
    JOIN stg_t1_outcomes AS o ON r.source_system = 'title1' AND o.participation_id = r.record_id
),
vr AS (
    SELECT r.period_id, o.outcome_type AS kind, o.outcome_code AS code, o.outcome_date AS event_date
    FROM pirl_records AS r
    JOIN stg_vr_outcomes AS o ON r.source_system = 'vr' AND o.case_id = r.record_id
),
ae AS (
    SELECT r.period_id, o.outcome_type, o.credential_code, o.outcome_date
    FROM pirl_records AS r
    JOIN pirl_periods AS p ON p.period_id = r.period_id
    JOIN stg_ae_outcomes AS o ON r.source_system = 'adult_ed' AND o.student_id = r.record_id
    WHERE o.outcome_date >= p.entry_date
    QUALIFY row_number() OVER (PARTITION BY o.outcome_id ORDER BY p.entry_date DESC, p.period_id DESC) = 1
),
ae_tests AS (
    SELECT r.period_id, a.assessment_id, a.test_date, TRY_CAST(a.efl AS INTEGER) AS efl
    FROM pirl_records AS r
    JOIN pirl_periods AS p ON p.period_id = r.period_id
    JOIN stg_ae_assessments AS a ON r.source_system = 'adult_ed' AND a.student_id = r.record_id
    WHERE a.test_date BETWEEN p.entry_date AND p.span_end
),
pre AS (
    SELECT period_id, test_date AS pre_date, efl AS pre_efl
    FROM ae_tests
    QUALIFY row_number() OVER (PARTITION BY period_id ORDER BY test_date, assessment_id) = 1
),
events AS (
    SELECT period_id, kind, code, event_date
    FROM t1
    WHERE kind IN ('CREDENTIAL', 'SKILL_GAIN', 'POST_EXIT_EDUCATION')
    UNION ALL
    SELECT period_id, kind, code, event_date
    FROM vr
    WHERE kind IN ('CREDENTIAL', 'SKILL_GAIN')
    UNION ALL
    SELECT period_id, 'CREDENTIAL', $ae_diploma_credential, outcome_date
    FROM ae
    WHERE outcome_type IN ('HSE', 'DIPLOMA')
    UNION ALL
    SELECT period_id, 'SKILL_GAIN', $ae_diploma_gain, outcome_date
    FROM ae
    WHERE outcome_type IN ('HSE', 'DIPLOMA')
    UNION ALL
    SELECT period_id, 'CREDENTIAL', credential_code, outcome_date
    FROM ae
    WHERE outcome_type = 'CREDENTIAL'
    UNION ALL
    SELECT period_id, 'POST_EXIT_EDUCATION', NULL, outcome_date
    FROM ae
    WHERE outcome_type = 'POSTSECONDARY_ENROLLMENT'
    UNION ALL
    SELECT t.period_id, 'SKILL_GAIN', $ae_efl_gain, t.test_date
    FROM ae_tests AS t
    JOIN pre ON pre.period_id = t.period_id
    WHERE t.test_date > pre.pre_date AND t.efl > pre.pre_efl
)
SELECT period_id, kind, code, event_date
FROM events
WHERE event_date IS NOT NULL
  AND event_date <= $as_of
  AND (kind <> 'CREDENTIAL' OR code IS NOT NULL);
