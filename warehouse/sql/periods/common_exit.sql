-- Common exit for the DOL programs in $programs: a customer's periods that follow one another
-- with no gap of more than $days days (each open period counting as served through $as_of)
-- form one chain; no period in it exits while another is still open, and then all share the
-- chain's last exit. Wagner-Peyser periods inside one chain were never really exited, so they
-- become one period. Periods without a customer, and other programs, keep their own exit.
-- ($enabled false: every period keeps its own exit.)
CREATE OR REPLACE TEMP TABLE periods_final AS
WITH flagged AS (
    SELECT *, $enabled AND customer_id IS NOT NULL AND list_contains($programs, program) AS in_chain
    FROM periods_candidates
),
chained AS (
    SELECT *,
           max(coalesce(exit_date, $as_of)) OVER (
               PARTITION BY customer_id ORDER BY entry_date, period_id
               ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS prev_end
    FROM flagged
    WHERE in_chain
),
grouped AS (
    SELECT * EXCLUDE (prev_end),
           sum(CASE WHEN date_diff('day', prev_end, entry_date) <= $days THEN 0 ELSE 1 END) OVER (
               PARTITION BY customer_id ORDER BY entry_date, period_id ROWS UNBOUNDED PRECEDING) AS chain_no
    FROM chained
),
merged AS (
    SELECT * REPLACE (
               CASE WHEN program = 'WP' THEN max(last_service_date) OVER part ELSE last_service_date END
                   AS last_service_date,
               CASE WHEN program = 'WP' THEN sum(services) OVER part ELSE services END AS services,
               CASE WHEN program <> 'WP' THEN exit_date
                    WHEN bool_or(exit_date IS NULL) OVER part THEN NULL
                    ELSE max(exit_date) OVER part END AS exit_date
           ),
           CASE WHEN program = 'WP' THEN row_number() OVER part ELSE 1 END AS part_no,
           CASE WHEN program = 'WP' THEN count(*) OVER part ELSE 1 END AS merged_periods
    FROM grouped
    WINDOW part AS (PARTITION BY customer_id, chain_no, program ORDER BY entry_date, period_id
                    ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING)
),
shared AS (
    SELECT * EXCLUDE (part_no, chain_no, in_chain) REPLACE (
               CASE WHEN bool_or(exit_date IS NULL) OVER chain THEN NULL ELSE max(exit_date) OVER chain END
                   AS exit_date,
               CASE WHEN program = 'WP' AND exit_date IS NOT NULL THEN 'NINETY_DAYS'
                    WHEN program = 'WP' THEN NULL
                    ELSE exit_basis END AS exit_basis
           ),
           exit_date AS program_exit_date_,
           first_value(period_id) OVER chain AS common_exit_group_
    FROM merged
    WHERE part_no = 1
    WINDOW chain AS (PARTITION BY customer_id, chain_no ORDER BY entry_date, period_id
                     ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING)
)
SELECT * EXCLUDE (program_exit_date_, common_exit_group_) REPLACE (
           program_exit_date_ AS program_exit_date,
           common_exit_group_ AS common_exit_group,
           CASE WHEN exit_date IS NULL THEN NULL
                WHEN exit_date = program_exit_date_ THEN exit_basis
                ELSE 'COMMON_EXIT' END AS exit_basis
       )
FROM shared
UNION ALL BY NAME
SELECT * EXCLUDE (in_chain) REPLACE (exit_date AS program_exit_date), 1 AS merged_periods
FROM flagged
WHERE NOT in_chain;
