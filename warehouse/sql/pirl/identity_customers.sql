-- A linked period: the customer's best-supported birth date and sex (customer_identity).
INSERT INTO pirl_identity
SELECT p.period_id, ci.birth_date, ci.sex
FROM pirl_periods AS p
JOIN customer_identity AS ci ON ci.customer_id = p.customer_id;
