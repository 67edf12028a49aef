-- Employers (FEIN) that paid a customer wages (> 0) in a quarter: retention with the same employer,
-- as indicators/employers.sql.
CREATE OR REPLACE TEMP TABLE pirl_employers AS
SELECT customer_id, year * 4 + quarter - 1 AS q, employer_fein
FROM wages_by_customer_employer_quarter
WHERE employer_fein IS NOT NULL
GROUP BY ALL
HAVING sum(wages) > 0;
