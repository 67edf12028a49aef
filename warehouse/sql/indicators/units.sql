-- Periods as the indicators count them. Periods of the same Title I program inside one common-exit
-- chain never exited in between, so ($merge_in_chain) they count as one; WP is merged already.
-- A chain's exit reason is the first recorded reason (by record id) of the Title I periods whose
-- own exit is the chain's exit, and it speaks for every program of the chain ($chain_reason).
CREATE OR REPLACE TEMP TABLE ind_units AS
WITH p AS (
    SELECT *,
           CASE WHEN $merge_in_chain AND common_exit_group IS NOT NULL
                THEN common_exit_group || '|' || program ELSE period_id END AS unit_id
    FROM participation
),
chain_reason AS (
    SELECT common_exit_group,
           first(exit_reason ORDER BY source_record_id) FILTER (
               WHERE exit_reason IS NOT NULL AND program_exit_date = exit_date
                 AND source_system = 'title1') AS reason
    FROM p
    WHERE common_exit_group IS NOT NULL AND exit_date IS NOT NULL
    GROUP BY common_exit_group
)
SELECT p.*,
       CASE WHEN p.exit_date IS NULL THEN NULL
            WHEN $chain_reason AND p.common_exit_group IS NOT NULL THEN c.reason
            ELSE p.exit_reason END AS unit_exit_reason
FROM p
LEFT JOIN chain_reason AS c ON c.common_exit_group = p.common_exit_group;
