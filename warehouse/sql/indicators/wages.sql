-- Wages in cents per customer and delivered quarter; undelivered quarters are not looked at.
CREATE OR REPLACE TEMP TABLE ind_wages AS
SELECT customer_id, year * 4 + quarter - 1 AS q, CAST(round(wages * 100) AS BIGINT) AS cents
FROM wages_by_customer_quarter
WHERE list_contains($delivered, year * 4 + quarter - 1);
