-- The source records behind each unit, for its flags and outcomes: the case record (Title I, VR);
-- for Adult Ed every student record of the customer with attendance inside the period.
CREATE OR REPLACE TEMP TABLE ind_records AS
SELECT DISTINCT unit_id, source_system, source_record_id AS record_id
FROM ind_units
WHERE source_system IN ('title1', 'vr', 'adult_ed')
UNION
SELECT DISTINCT u.unit_id, 'adult_ed' AS source_system, a.student_id AS record_id
FROM ind_units AS u
JOIN customer_xref AS x ON x.customer_id = u.customer_id AND x.source_system = 'adult_ed'
JOIN stg_ae_attendance AS a ON a.student_id = x.source_record_id
JOIN stg_ae_students AS s ON s.student_id = a.student_id
WHERE u.program = 'ADULT_ED'
  AND a.hours > 0
  AND a.class_date BETWEEN u.entry_date AND coalesce(u.last_service_date, u.exit_date, $as_of)
  AND a.class_date <= $as_of;
