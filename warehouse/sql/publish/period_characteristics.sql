-- The same keyed token of the period id as participation.period_key (the join between them).
SELECT ww_token('period', period_id) AS period_key, * EXCLUDE (period_id)
FROM period_characteristics
