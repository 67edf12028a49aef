-- The employer is published as a keyed token of its FEIN: a nine-digit FEIN looks like an SSN to
-- every scanner and reader, a plain digest of it could be reversed by trying every FEIN, and the
-- retention measure only needs "the same employer".
SELECT customer_id, year, quarter, ww_token('employer', employer_fein) AS employer_key, wages, wage_records
FROM wages_by_customer_employer_quarter
