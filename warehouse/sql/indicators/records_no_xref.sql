-- Without linkage: each unit's own case or student record.
CREATE OR REPLACE TEMP TABLE ind_records AS
SELECT DISTINCT unit_id, source_system, source_record_id AS record_id
FROM ind_units
WHERE source_system IN ('title1', 'vr', 'adult_ed');
