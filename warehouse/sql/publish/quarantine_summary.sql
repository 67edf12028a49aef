-- Rows set aside, counted by file and reason; the rows themselves (raw records, PII) stay restricted.
SELECT source_system, file_name, kind, field, reason, count(*) AS rows
FROM quarantine
GROUP BY ALL
