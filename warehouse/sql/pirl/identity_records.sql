-- An unlinked period: its own person-bearing record's standardized birth date and sex
-- (person_records holds them null where unusable).
INSERT INTO pirl_identity
SELECT p.period_id, pr.birth_date, pr.sex
FROM pirl_periods AS p
JOIN person_records AS pr ON pr.source_system = p.source_system AND pr.source_record_id = p.source_record_id
WHERE p.customer_id IS NULL;
