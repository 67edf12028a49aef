-- Total wages per customer and quarter (quarter as `year * 4 + quarter - 1`); whether the quarter's
-- file has arrived is decided where the elements are built.
CREATE OR REPLACE TEMP TABLE pirl_wages AS
SELECT customer_id, year * 4 + quarter - 1 AS q, sum(wages) AS wages
FROM wages_by_customer_quarter
GROUP BY ALL;
