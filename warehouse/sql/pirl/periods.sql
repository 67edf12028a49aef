-- One row per participation period, with the windows the elements are dated in: the period itself
-- (entry .. exit, or $as_of while open) for skill gains and co-enrollment; entry .. exit + 1 year
-- (or $as_of while open) for credentials. Nothing reaches past $as_of.
CREATE OR REPLACE TEMP TABLE pirl_periods AS
SELECT period_id, customer_id, program, source_system, source_record_id,
       entry_date, exit_date, exit_reason, last_service_date, training_end_date,
       pirl_q(exit_date) AS exit_q,
       least(coalesce(exit_date, $as_of), $as_of) AS span_end,
       least(coalesce(CAST(exit_date + INTERVAL 1 YEAR AS DATE), $as_of), $as_of) AS credential_end
FROM participation;
