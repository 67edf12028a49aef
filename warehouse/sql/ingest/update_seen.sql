-- Record the latest night each key was delivered (any drop, FULL or DELTA).
INSERT INTO {seen} BY NAME
SELECT {key}, max(_extract_date) AS last_seen, CAST(NULL AS DATE) AS removed_on
FROM {batch} GROUP BY ALL
ON CONFLICT DO UPDATE SET last_seen = greatest({seen}.last_seen, excluded.last_seen);
