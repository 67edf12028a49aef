-- One row per period of participation, keyed by the individual: the customer, or for a period
-- without one the source record itself (`source_system:source_record_id`). An open period runs to
-- $as_of and nothing after $as_of counts.
CREATE OR REPLACE TEMP TABLE coen_periods AS
SELECT *
FROM (
    SELECT coalesce('C' || customer_id::VARCHAR, source_system || ':' || source_record_id) AS unit,
           program,
           entry_date AS start_date,
           least(coalesce(exit_date, $as_of), $as_of) AS end_date
    FROM participation
    WHERE entry_date <= $as_of
)
WHERE end_date >= start_date;
