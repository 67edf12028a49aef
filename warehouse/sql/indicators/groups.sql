-- The groups each unit is counted in: every unit in TOTAL / ALL; with breakdowns, also in one
-- category of each breakdown, from the characteristics at entry of its first period
-- (`period_characteristics`, warehouse/demographics.py).
CREATE OR REPLACE TEMP TABLE ind_groups AS
SELECT unit_id, 'TOTAL' AS breakdown, 'ALL' AS category
FROM ind_unit_flags
UNION ALL
SELECT unit_id, breakdown, category
FROM (
    UNPIVOT (
        SELECT u.unit_id, pc.* EXCLUDE (period_id)
        FROM ind_units AS u
        JOIN (SELECT period_id, {columns} FROM period_characteristics) AS pc ON pc.period_id = u.period_id
        QUALIFY row_number() OVER (PARTITION BY u.unit_id ORDER BY u.entry_date, u.period_id) = 1
    )
    ON {columns}
    INTO NAME breakdown VALUE category
);
