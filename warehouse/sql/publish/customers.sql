-- The customer dimension, with the one SSN-derived value that leaves the restricted zone: a keyed
-- token of the customer's best SSN (customer_identity.ssn), for joins with agencies holding the key.
SELECT d.*, ww_token('ssn', i.ssn) AS ssn_token
FROM customer_demographics AS d
LEFT JOIN customer_identity AS i ON i.customer_id = d.customer_id
