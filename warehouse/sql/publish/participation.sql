-- Periods of participation without the source systems' record ids: `period_key` is a digest of the
-- internal period id (stable night to night), so analysts can join periods to their breakdowns.
SELECT md5(period_id) AS period_key, * EXCLUDE (period_id, source_record_id, source_person_id)
FROM participation
