-- The reportable id embeds the source record id: published as a keyed token only.
SELECT ww_token('reportable', reportable_id) AS reportable_key, * EXCLUDE (reportable_id, source_record_id)
FROM reportable_individuals
