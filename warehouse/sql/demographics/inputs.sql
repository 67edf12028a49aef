-- Linkage has run: record -> customer, and the customer's voted sex and date of birth (the only
-- identity values read here; the DOB becomes an age group and goes no further).
CREATE OR REPLACE TEMP TABLE demog_xref AS
SELECT source_system, source_record_id, customer_id FROM customer_xref;
CREATE OR REPLACE TEMP TABLE demog_identity AS
SELECT customer_id, systems, sex, birth_date FROM customer_identity;
