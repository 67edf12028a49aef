-- The current state of every key: its newest version by last-updated stamp (a re-delivered
-- older version never wins), flagged when voided at the source or removed by a later FULL.
CREATE OR REPLACE VIEW {cur} AS
SELECT h.* EXCLUDE (_rank),
       coalesce(s.removed_on > s.last_seen, false) AS _removed_at_source
FROM (
    SELECT *, row_number() OVER (PARTITION BY {key} ORDER BY {order_sql}) AS _rank FROM {hist}
) AS h
JOIN {seen} AS s ON {join_sql}
WHERE h._rank = 1;
