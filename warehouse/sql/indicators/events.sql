-- Dated outcomes per unit, from the unit's own source records (no credit across programs):
-- POSTSEC / SECONDARY credentials, GAIN (skill gains), EDU (post-exit education or enrollment).
-- Credential code 1 is secondary, 2-7 postsecondary, 8 (graduate) postsecondary only for the
-- programs in $graduate_programs. Adult Ed outcomes are keyed by student: each goes to the
-- student's unit with the latest entry on or before its date. HSE / diploma is both a secondary
-- credential and a skill gain. Nothing dated after $as_of.
CREATE OR REPLACE TEMP TABLE ind_events AS
WITH t1 AS (
    SELECT r.unit_id, o.outcome_type, o.outcome_code AS code, o.outcome_date AS event_date
    FROM ind_records AS r
    JOIN stg_t1_outcomes AS o ON r.source_system = 'title1' AND o.participation_id = r.record_id
),
vr AS (
    SELECT r.unit_id, o.outcome_type, o.outcome_code AS code, o.outcome_date AS event_date
    FROM ind_records AS r
    JOIN stg_vr_outcomes AS o ON r.source_system = 'vr' AND o.case_id = r.record_id
),
ae AS (
    SELECT r.unit_id, o.outcome_type, o.credential_code AS code, o.outcome_date AS event_date
    FROM ind_records AS r
    JOIN ind_unit_flags AS f ON f.unit_id = r.unit_id
    JOIN stg_ae_outcomes AS o ON r.source_system = 'adult_ed' AND o.student_id = r.record_id
    WHERE o.outcome_date >= f.entry_date
    QUALIFY row_number() OVER (PARTITION BY o.outcome_id ORDER BY f.entry_date DESC, r.unit_id DESC) = 1
),
ae_tests AS (
    SELECT r.unit_id, a.assessment_id, a.test_date, TRY_CAST(a.efl AS INTEGER) AS efl
    FROM ind_records AS r
    JOIN ind_unit_flags AS f ON f.unit_id = r.unit_id
    JOIN stg_ae_assessments AS a ON r.source_system = 'adult_ed' AND a.student_id = r.record_id
    WHERE a.test_date BETWEEN f.entry_date AND coalesce(f.exit_date, $as_of)
),
pre AS (
    SELECT unit_id, test_date AS pre_date, efl AS pre_efl
    FROM ae_tests
    QUALIFY row_number() OVER (PARTITION BY unit_id ORDER BY test_date, assessment_id) = 1
),
credential_kind AS (
    SELECT code, kind
    FROM (VALUES ('1', 'SECONDARY'), ('2', 'POSTSEC'), ('3', 'POSTSEC'), ('4', 'POSTSEC'),
                 ('5', 'POSTSEC'), ('6', 'POSTSEC'), ('7', 'POSTSEC'), ('8', 'GRAD')) AS k(code, kind)
),
events AS (
    SELECT t1.unit_id, k.kind, t1.event_date
    FROM t1 JOIN credential_kind AS k ON k.code = t1.code
    WHERE t1.outcome_type = 'CREDENTIAL'
    UNION ALL
    SELECT unit_id, 'GAIN', event_date FROM t1 WHERE outcome_type = 'SKILL_GAIN'
    UNION ALL
    SELECT unit_id, 'EDU', event_date FROM t1 WHERE outcome_type = 'POST_EXIT_EDUCATION'
    UNION ALL
    SELECT vr.unit_id, k.kind, vr.event_date
    FROM vr JOIN credential_kind AS k ON k.code = vr.code
    WHERE vr.outcome_type = 'CREDENTIAL'
    UNION ALL
    SELECT unit_id, 'GAIN', event_date FROM vr WHERE outcome_type = 'SKILL_GAIN'
    UNION ALL
    SELECT unit_id, 'SECONDARY', event_date FROM ae WHERE outcome_type IN ('HSE', 'DIPLOMA')
    UNION ALL
    SELECT unit_id, 'GAIN', event_date FROM ae WHERE outcome_type IN ('HSE', 'DIPLOMA')
    UNION ALL
    SELECT ae.unit_id, k.kind, ae.event_date
    FROM ae JOIN credential_kind AS k ON k.code = ae.code
    WHERE ae.outcome_type = 'CREDENTIAL'
    UNION ALL
    SELECT unit_id, 'EDU', event_date FROM ae WHERE outcome_type = 'POSTSECONDARY_ENROLLMENT'
    UNION ALL
    SELECT t.unit_id, 'GAIN', t.test_date
    FROM ae_tests AS t JOIN pre ON pre.unit_id = t.unit_id
    WHERE t.test_date > pre.pre_date AND t.efl > pre.pre_efl
)
SELECT e.unit_id,
       CASE WHEN e.kind = 'GRAD' THEN 'POSTSEC' ELSE e.kind END AS kind,
       e.event_date
FROM events AS e
JOIN ind_unit_flags AS f ON f.unit_id = e.unit_id
WHERE e.event_date IS NOT NULL
  AND e.event_date <= $as_of
  AND (e.kind <> 'GRAD' OR list_contains($graduate_programs, f.program));
