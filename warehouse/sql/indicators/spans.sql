-- Education-or-training spans (the MSG denominator): Title I training (its start, else entry, to
-- its end, else the record's own exit), a Youth in school's whole record, a VR case with
-- EDUCATION_TRAINING (service start to closure), every Adult Ed unit; open ends stop at $as_of.
CREATE OR REPLACE TEMP TABLE ind_spans AS
WITH raw AS (
    SELECT unit_id, coalesce(training_start_date, entry_date) AS span_start,
           coalesce(training_end_date, program_exit_date) AS span_end
    FROM ind_units
    WHERE source_system = 'title1' AND training_type IS NOT NULL AND training_type <> '00'
    UNION ALL
    SELECT unit_id, entry_date, program_exit_date
    FROM ind_units
    WHERE source_system = 'title1' AND program = 'YOUTH' AND coalesce(youth_in_school, false)
    UNION ALL
    SELECT unit_id, entry_date, program_exit_date
    FROM ind_units
    WHERE source_system = 'vr' AND coalesce(in_education_or_training, false)
    UNION ALL
    SELECT unit_id, entry_date, exit_date
    FROM ind_unit_flags
    WHERE program = 'ADULT_ED'
),
capped AS (
    SELECT unit_id, span_start, least(coalesce(span_end, $as_of), $as_of) AS span_end FROM raw
)
SELECT c.unit_id, f.program, c.span_start, c.span_end
FROM capped AS c
JOIN ind_unit_flags AS f ON f.unit_id = c.unit_id
WHERE c.span_start IS NOT NULL AND c.span_start <= c.span_end AND f.program <> 'WP';
