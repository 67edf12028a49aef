-- Without linkage: each period's own case or student record.
CREATE OR REPLACE TEMP TABLE pirl_records AS
SELECT DISTINCT period_id, source_system, source_record_id AS record_id
FROM pirl_periods
WHERE source_system IN ('title1', 'vr', 'adult_ed');
