-- Total wages per customer and quarter across all employers (employment = total > 0).
CREATE OR REPLACE TABLE wages_by_customer_quarter AS
SELECT
    customer_id,
    year,
    quarter,
    sum(wages)::DECIMAL(18, 2) AS wages,
    count(DISTINCT employer_fein) FILTER (WHERE wages > 0) AS employers
FROM wages_by_customer_employer_quarter
GROUP BY customer_id, year, quarter;
