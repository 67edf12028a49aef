-- Employers (FEIN) that paid a customer wages (> 0) in a delivered quarter: the retention measure.
CREATE OR REPLACE TEMP TABLE ind_employers AS
SELECT customer_id, year * 4 + quarter - 1 AS q, employer_fein
FROM wages_by_customer_employer_quarter
WHERE list_contains($delivered, year * 4 + quarter - 1) AND employer_fein IS NOT NULL
GROUP BY ALL
HAVING sum(wages) > 0;
