SELECT md5(reportable_id) AS reportable_key, * EXCLUDE (reportable_id, source_record_id)
FROM reportable_individuals
