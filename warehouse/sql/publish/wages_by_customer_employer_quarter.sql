-- The employer is published as a digest of its FEIN: a nine-digit FEIN looks like an SSN to every
-- scanner and reader, and the retention measure only needs "the same employer".
SELECT customer_id, year, quarter, substr(md5(employer_fein), 1, 16) AS employer_key, wages, wage_records
FROM wages_by_customer_employer_quarter
