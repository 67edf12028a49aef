-- Each program's own periods, before common exit (exit_date here is the program's own exit);
-- person_key is the customer, or the system's own person key for a record without one.
CREATE OR REPLACE TEMP TABLE periods_candidates AS
SELECT *, NULL::VARCHAR AS person_key FROM participation LIMIT 0;
