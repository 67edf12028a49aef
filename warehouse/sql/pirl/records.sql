-- The source records behind each period, for its outcomes: the case record (Title I
-- participation_id, VR CASE_ID, the Adult Ed student of the first class); for Adult Ed also every
-- other student record of the customer with attendance inside the period (Adult Ed periods are
-- built per person across student ids). The same rule as indicators/records.sql.
CREATE OR REPLACE TEMP TABLE pirl_records AS
SELECT DISTINCT period_id, source_system, source_record_id AS record_id
FROM pirl_periods
WHERE source_system IN ('title1', 'vr', 'adult_ed')
UNION
SELECT DISTINCT p.period_id, 'adult_ed' AS source_system, a.student_id AS record_id
FROM pirl_periods AS p
JOIN customer_xref AS x ON x.customer_id = p.customer_id AND x.source_system = 'adult_ed'
JOIN stg_ae_attendance AS a ON a.student_id = x.source_record_id
JOIN stg_ae_students AS s ON s.student_id = a.student_id
WHERE p.program = 'ADULT_ED'
  AND a.hours > 0
  AND a.class_date BETWEEN p.entry_date AND coalesce(p.last_service_date, p.exit_date, $as_of)
  AND a.class_date <= $as_of;
