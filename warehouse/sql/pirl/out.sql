-- The PIRL-shaped table: one row per participation period (restricted: it carries date of birth).
-- Element columns are `e<element number>_<short name>`; blank (NULL) where PIRL leaves it blank.
--   100  the customer id; an unlinked period: $surrogate_prefix + 16 hex digits of the SHA-256 of
--        source_system:source_record_id (stable, and never built from an SSN).
--   201  $sex_codes[position of customer_identity.sex in $sex_values], else $sex_unknown.
--   903-918  1 when the customer has a period in that program overlapping this one (both ends
--        inclusive, an open period running to the as-of date; the period's own program is always 1), else 0.
--   923  the exit reason of an exited period, $no_exit_reason when none; blank while open.
--   1600-1606  quarter k after exit = pirl_q(exit) + k: 9 when its wage file is not in $delivered,
--        1 when total wages > 0, else 0. 1703-1706: its total wages (a negative adjustment total is
--        0.00), blank when not delivered. Blank while open.
--   1618 9 while Q2 is undelivered; blank when not employed in Q2; 9 while Q4 is undelivered;
--        1 when some FEIN paid wages in both Q2 and Q4, else 0. Blank while open.
--   1800-1805  the first three distinct (type, date) credentials from entry to the credential end,
--        in date order (then type).
--   1806-1810  the latest skill gain inside the period whose type is the 1st..5th of $gain_codes.
--   1811 the first post-exit education enrollment dated after exit.
--   1813 Title I training end date when on or before exit (or the as-of date while open).
CREATE OR REPLACE TABLE pirl AS
WITH quarters AS (
    SELECT p.period_id, k.k, list_contains($delivered, p.exit_q + k.k) AS delivered, w.wages
    FROM pirl_periods AS p
    CROSS JOIN range(1, 5) AS k(k)
    LEFT JOIN pirl_wages AS w ON w.customer_id = p.customer_id AND w.q = p.exit_q + k.k
    WHERE p.exit_date IS NOT NULL
),
employment AS (
    SELECT period_id, k,
           CASE WHEN NOT delivered THEN 9 WHEN coalesce(wages, 0) > 0 THEN 1 ELSE 0 END AS employed,
           CASE WHEN delivered THEN greatest(coalesce(wages, 0), 0) END AS wages
    FROM quarters
),
emp AS (
    SELECT period_id,
           max(employed) FILTER (WHERE k = 1) AS emp1,
           max(employed) FILTER (WHERE k = 2) AS emp2,
           max(employed) FILTER (WHERE k = 3) AS emp3,
           max(employed) FILTER (WHERE k = 4) AS emp4,
           max(wages) FILTER (WHERE k = 1) AS wages1,
           max(wages) FILTER (WHERE k = 2) AS wages2,
           max(wages) FILTER (WHERE k = 3) AS wages3,
           max(wages) FILTER (WHERE k = 4) AS wages4
    FROM employment
    GROUP BY period_id
),
retention AS (
    SELECT p.period_id,
           EXISTS (SELECT 1
                   FROM pirl_employers AS a
                   JOIN pirl_employers AS b
                     ON b.customer_id = a.customer_id AND b.employer_fein = a.employer_fein
                   WHERE a.customer_id = p.customer_id AND a.q = p.exit_q + 2 AND b.q = p.exit_q + 4)
               AS same
    FROM pirl_periods AS p
    WHERE p.exit_date IS NOT NULL AND p.customer_id IS NOT NULL
),
coenrolled AS (
    SELECT p.period_id, list(DISTINCT q.program) AS programs
    FROM pirl_periods AS p
    JOIN pirl_periods AS q
      ON q.customer_id = p.customer_id AND q.entry_date <= p.span_end AND p.entry_date <= q.span_end
    GROUP BY p.period_id
),
credentials AS (
    SELECT period_id, code, event_date,
           row_number() OVER (PARTITION BY period_id ORDER BY event_date, code) AS n
    FROM (
        SELECT DISTINCT e.period_id, e.code, e.event_date
        FROM pirl_events AS e
        JOIN pirl_periods AS p ON p.period_id = e.period_id
        WHERE e.kind = 'CREDENTIAL' AND e.event_date BETWEEN p.entry_date AND p.credential_end
    )
),
cred AS (
    SELECT period_id,
           TRY_CAST(max(code) FILTER (WHERE n = 1) AS INTEGER) AS type1,
           max(event_date) FILTER (WHERE n = 1) AS date1,
           TRY_CAST(max(code) FILTER (WHERE n = 2) AS INTEGER) AS type2,
           max(event_date) FILTER (WHERE n = 2) AS date2,
           TRY_CAST(max(code) FILTER (WHERE n = 3) AS INTEGER) AS type3,
           max(event_date) FILTER (WHERE n = 3) AS date3
    FROM credentials
    WHERE n <= 3
    GROUP BY period_id
),
gains AS (
    SELECT e.period_id, list_position($gain_codes, e.code) AS slot, max(e.event_date) AS latest
    FROM pirl_events AS e
    JOIN pirl_periods AS p ON p.period_id = e.period_id
    WHERE e.kind = 'SKILL_GAIN' AND e.event_date BETWEEN p.entry_date AND p.span_end
    GROUP BY ALL
),
gain AS (
    SELECT period_id,
           max(latest) FILTER (WHERE slot = 1) AS gain1,
           max(latest) FILTER (WHERE slot = 2) AS gain2,
           max(latest) FILTER (WHERE slot = 3) AS gain3,
           max(latest) FILTER (WHERE slot = 4) AS gain4,
           max(latest) FILTER (WHERE slot = 5) AS gain5
    FROM gains
    GROUP BY period_id
),
edu AS (
    SELECT e.period_id, min(e.event_date) AS enrolled
    FROM pirl_events AS e
    JOIN pirl_periods AS p ON p.period_id = e.period_id
    WHERE e.kind = 'POST_EXIT_EDUCATION' AND e.event_date > p.exit_date
    GROUP BY e.period_id
)
SELECT
    p.period_id,
    p.program,
    p.customer_id,
    CASE WHEN p.customer_id IS NOT NULL THEN p.customer_id::VARCHAR
         ELSE $surrogate_prefix || left(sha256(p.source_system || ':' || p.source_record_id), 16)
    END AS e100_unique_individual_identifier,
    i.birth_date AS e200_date_of_birth,
    coalesce($sex_codes[list_position($sex_values, i.sex)], $sex_unknown)::INTEGER AS e201_sex,
    p.entry_date AS e900_date_of_program_entry,
    p.exit_date AS e901_date_of_program_exit,
    (p.program = 'ADULT' OR coalesce(list_contains(c.programs, 'ADULT'), false))::INTEGER AS e903_adult,
    (p.program = 'DW' OR coalesce(list_contains(c.programs, 'DW'), false))::INTEGER
        AS e904_dislocated_worker,
    (p.program = 'YOUTH' OR coalesce(list_contains(c.programs, 'YOUTH'), false))::INTEGER AS e905_youth,
    (p.program = 'ADULT_ED' OR coalesce(list_contains(c.programs, 'ADULT_ED'), false))::INTEGER
        AS e910_adult_education,
    (p.program = 'VR' OR coalesce(list_contains(c.programs, 'VR'), false))::INTEGER
        AS e917_vocational_rehabilitation,
    (p.program = 'WP' OR coalesce(list_contains(c.programs, 'WP'), false))::INTEGER AS e918_wagner_peyser,
    CASE WHEN p.exit_date IS NOT NULL THEN coalesce(p.exit_reason, $no_exit_reason) END
        AS e923_other_reasons_for_exit,
    emp.emp1::INTEGER AS e1600_employed_q1_after_exit,
    emp.emp2::INTEGER AS e1602_employed_q2_after_exit,
    emp.emp3::INTEGER AS e1604_employed_q3_after_exit,
    emp.emp4::INTEGER AS e1606_employed_q4_after_exit,
    (CASE WHEN p.exit_date IS NULL THEN NULL
          WHEN emp.emp2 = 9 THEN 9
          WHEN emp.emp2 = 0 THEN NULL
          WHEN emp.emp4 = 9 THEN 9
          WHEN r.same THEN 1
          ELSE 0 END)::INTEGER AS e1618_retention_with_same_employer,
    emp.wages1::DECIMAL(18, 2) AS e1703_wages_q1_after_exit,
    emp.wages2::DECIMAL(18, 2) AS e1704_wages_q2_after_exit,
    emp.wages3::DECIMAL(18, 2) AS e1705_wages_q3_after_exit,
    emp.wages4::DECIMAL(18, 2) AS e1706_wages_q4_after_exit,
    cred.type1 AS e1800_type_of_credential_1,
    cred.date1 AS e1801_date_attained_credential_1,
    cred.type2 AS e1802_type_of_credential_2,
    cred.date2 AS e1803_date_attained_credential_2,
    cred.type3 AS e1804_type_of_credential_3,
    cred.date3 AS e1805_date_attained_credential_3,
    gain.gain1 AS e1806_date_latest_gain_efl,
    gain.gain2 AS e1807_date_latest_gain_secondary_diploma,
    gain.gain3 AS e1808_date_latest_gain_transcript_report_card,
    gain.gain4 AS e1809_date_latest_gain_training_milestone,
    gain.gain5 AS e1810_date_latest_gain_skills_progression,
    edu.enrolled AS e1811_date_enrolled_post_exit_education,
    CASE WHEN p.source_system = 'title1' AND p.training_end_date <= p.span_end THEN p.training_end_date END
        AS e1813_date_completed_education_or_training
FROM pirl_periods AS p
LEFT JOIN pirl_identity AS i ON i.period_id = p.period_id
LEFT JOIN coenrolled AS c ON c.period_id = p.period_id
LEFT JOIN emp ON emp.period_id = p.period_id
LEFT JOIN retention AS r ON r.period_id = p.period_id
LEFT JOIN cred ON cred.period_id = p.period_id
LEFT JOIN gain ON gain.period_id = p.period_id
LEFT JOIN edu ON edu.period_id = p.period_id
ORDER BY p.period_id;
