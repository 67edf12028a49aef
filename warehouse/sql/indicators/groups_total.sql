-- Without breakdowns every unit is counted in TOTAL / ALL only.
CREATE OR REPLACE TEMP TABLE ind_groups AS
SELECT unit_id, 'TOTAL' AS breakdown, 'ALL' AS category
FROM ind_unit_flags;
