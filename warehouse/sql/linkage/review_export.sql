-- The review queue with both records side by side, for a reviewer (restricted: identity values).
SELECT q.queued_on, q.match_probability, q.match_weight, q.reason,
       q.source_system_l, q.source_record_id_l, q.source_system_r, q.source_record_id_r,
       l.first_name AS first_name_l, r.first_name AS first_name_r,
       l.middle_name AS middle_name_l, r.middle_name AS middle_name_r,
       l.last_name AS last_name_l, r.last_name AS last_name_r,
       l.birth_date AS birth_date_l, r.birth_date AS birth_date_r,
       l.ssn AS ssn_l, r.ssn AS ssn_r,
       l.sex AS sex_l, r.sex AS sex_r,
       l.street AS street_l, r.street AS street_r,
       l.city AS city_l, r.city AS city_r,
       l.zip5 AS zip5_l, r.zip5 AS zip5_r,
       l.phone AS phone_l, r.phone AS phone_r,
       l.email AS email_l, r.email AS email_r,
       NULL::VARCHAR AS decision, NULL::VARCHAR AS reviewer, NULL::VARCHAR AS note
FROM review_queue q
JOIN person_records l ON l.source_system = q.source_system_l AND l.source_record_id = q.source_record_id_l
JOIN person_records r ON r.source_system = q.source_system_r AND r.source_record_id = q.source_record_id_r
ORDER BY q.match_probability DESC, q.unique_id_l, q.unique_id_r;
