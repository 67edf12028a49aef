-- Wages per customer, employer (FEIN) and quarter: the restricted join on SSN happens here and
-- only here; the table keeps no SSN. Rows of an SSN no customer holds are not anyone's outcome.
CREATE OR REPLACE TABLE wages_by_customer_employer_quarter AS
SELECT
    ci.customer_id,
    w.year::INTEGER AS year,
    w.quarter::INTEGER AS quarter,
    w.employer_fein,
    sum(w.wages)::DECIMAL(18, 2) AS wages,
    count(*) AS wage_records
FROM stg_ui_wages AS w
JOIN customer_identity AS ci ON ci.ssn = w.ssn
WHERE w.ssn IS NOT NULL AND w.year IS NOT NULL AND w.quarter IS NOT NULL AND w.wages IS NOT NULL
GROUP BY ALL;
