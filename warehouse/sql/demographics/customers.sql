-- One row per customer (published: no name, SSN, DOB or address). A flag is true when any of the
-- customer's records dated by $as_of says so, false when they only say no, NULL when none says.
CREATE OR REPLACE TABLE customer_demographics AS
WITH said AS (
    SELECT x.customer_id,
           bool_or(r.hispanic) AS hispanic,
           list_sort(list_distinct(flatten(list(r.races) FILTER (WHERE r.races IS NOT NULL)))) AS races,
           bool_or(r.veteran) AS veteran,
           bool_or(r.disability) AS disability,
           bool_or(r.low_income) AS low_income
    FROM demog_xref AS x
    JOIN demog_records AS r
      ON r.source_system = x.source_system AND r.source_record_id = x.source_record_id
    WHERE r.record_date <= $as_of
    GROUP BY x.customer_id
),
programs AS (
    SELECT customer_id,
           string_agg(DISTINCT program, '+' ORDER BY list_position($programs, program)) AS programs_ever
    FROM participation
    WHERE customer_id IS NOT NULL
    GROUP BY customer_id
)
SELECT
    i.customer_id,
    demog_sex(i.sex) AS sex,
    demog_race(s.hispanic, s.races, $hispanic_label, $two_or_more, $not_reported) AS race_ethnicity,
    s.hispanic,
    s.veteran,
    s.disability,
    s.low_income,
    i.systems,
    p.programs_ever,
    $as_of::DATE AS as_of
FROM demog_identity AS i
LEFT JOIN said AS s ON s.customer_id = i.customer_id
LEFT JOIN programs AS p ON p.customer_id = i.customer_id
ORDER BY i.customer_id;
