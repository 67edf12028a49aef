-- Adult Education attendance spells per person (a customer with two student ids has one
-- history): class days with hours, split at gaps of more than $days days. A spell is a period
-- of participation once its hours reach $threshold; entry is still its first class date.
-- Attendance of a learner who is not (or no longer) in the student file does not count.
CREATE OR REPLACE TEMP TABLE periods_ae_spells AS
WITH att AS (
    SELECT a.student_id, a.class_date, a.hours, x.customer_id,
           coalesce('C' || x.customer_id::VARCHAR, 'R' || a.student_id) AS person_key
    FROM stg_ae_attendance AS a
    JOIN stg_ae_students AS s ON s.student_id = a.student_id
    LEFT JOIN periods_xref AS x ON x.source_system = 'adult_ed' AND x.source_record_id = a.student_id
    WHERE a.class_date <= $as_of AND a.hours > 0
),
days AS (
    SELECT person_key, class_date,
           max(customer_id) AS customer_id,
           min(student_id) AS student_id,
           sum(hours) AS hours
    FROM att
    GROUP BY person_key, class_date
),
marked AS (
    SELECT *,
           CASE WHEN date_diff('day', lag(class_date) OVER w, class_date) <= $days THEN 0 ELSE 1 END
               AS starts
    FROM days
    WINDOW w AS (PARTITION BY person_key ORDER BY class_date)
),
numbered AS (
    SELECT *,
           sum(starts) OVER (PARTITION BY person_key ORDER BY class_date ROWS UNBOUNDED PRECEDING) AS seq
    FROM marked
),
running AS (
    SELECT *,
           sum(hours) OVER (PARTITION BY person_key, seq ORDER BY class_date ROWS UNBOUNDED PRECEDING)
               AS hours_to_date
    FROM numbered
)
SELECT person_key, seq,
       max(customer_id) AS customer_id,
       first(student_id ORDER BY class_date) AS student_id,
       min(class_date) AS entry_date,
       max(class_date) AS last_service_date,
       count(*) AS class_days,
       sum(hours) AS hours,
       min(class_date) FILTER (WHERE hours_to_date >= $threshold) AS participant_date,
       sum(hours) >= $threshold AS qualifies
FROM running
GROUP BY person_key, seq;
