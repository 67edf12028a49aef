SELECT md5(period_id) AS period_key, * EXCLUDE (period_id)
FROM period_characteristics
