-- One row per period, every characteristic a category. Sex and DOB are the customer's voted
-- values (a period without a customer: its own record's). The rest is what the period's own
-- record says at entry (Title I row; WP registration; VR case: a disability), else the
-- customer's value, else not reported.
CREATE OR REPLACE TABLE period_characteristics AS
SELECT
    p.period_id,
    p.customer_id,
    p.program,
    demog_sex(coalesce(i.sex, r.sex)) AS sex,
    demog_age_group(demog_age(coalesce(i.birth_date, r.birth_date), p.entry_date),
                    $band_labels, $band_mins, $not_reported) AS age_group,
    CASE WHEN demog_race_known(r.hispanic, r.races)
         THEN demog_race(r.hispanic, r.races, $hispanic_label, $two_or_more, $not_reported)
         ELSE coalesce(c.race_ethnicity, $not_reported) END AS race_ethnicity,
    demog_flag(coalesce(r.veteran, c.veteran), $yes, $no, $not_reported) AS veteran,
    demog_flag(coalesce(r.disability, c.disability), $yes, $no, $not_reported) AS disability,
    demog_flag(coalesce(r.low_income, c.low_income), $yes, $no, $not_reported) AS low_income,
    coalesce(nullif(trim(p.office), ''), $not_reported) AS office,
    $as_of::DATE AS as_of
FROM participation AS p
LEFT JOIN demog_records AS r
  ON r.source_system = p.source_system AND r.source_record_id = p.source_record_id
LEFT JOIN demog_identity AS i ON i.customer_id = p.customer_id
LEFT JOIN customer_demographics AS c ON c.customer_id = p.customer_id
ORDER BY p.period_id;
