-- Periods of participation without the source systems' record ids. `period_key` is a keyed token
-- (ww_token, see warehouse/privacy.py) of the internal period id, which embeds the source record
-- id: stable night to night, joins period_characteristics, cannot be traced back without the key.
-- The common-exit group (the period id of the chain's first period) becomes that period's key.
SELECT
    ww_token('period', period_id) AS period_key,
    * EXCLUDE (period_id, source_record_id, source_person_id)
      REPLACE (ww_token('period', common_exit_group) AS common_exit_group)
FROM participation
