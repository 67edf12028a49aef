-- Counts for the run log: rows, exited periods, unlinked periods, exited periods still waiting for
-- a wage quarter (some of 1600-1606 is 9).
SELECT count(*) AS pirl_rows,
       count(*) FILTER (WHERE e901_date_of_program_exit IS NOT NULL) AS pirl_exited,
       count(*) FILTER (WHERE customer_id IS NULL) AS pirl_unlinked,
       count(*) FILTER (WHERE 9 IN (e1600_employed_q1_after_exit, e1602_employed_q2_after_exit,
                                    e1604_employed_q3_after_exit, e1606_employed_q4_after_exit))
           AS pirl_wages_pending
FROM pirl;
