-- Periods that a breakdown cannot place (data quality, in the run's metadata).
SELECT
    count(*) AS periods,
    count(*) FILTER (WHERE customer_id IS NULL) AS periods_without_customer,
    count(*) FILTER (WHERE sex = 'U') AS periods_sex_u,
    count(*) FILTER (WHERE age_group = $not_reported) AS periods_age_group_not_reported,
    count(*) FILTER (WHERE race_ethnicity = $not_reported) AS periods_race_ethnicity_not_reported,
    count(*) FILTER (WHERE veteran = $not_reported) AS periods_veteran_not_reported,
    count(*) FILTER (WHERE disability = $not_reported) AS periods_disability_not_reported,
    count(*) FILTER (WHERE low_income = $not_reported) AS periods_low_income_not_reported,
    count(*) FILTER (WHERE office = $not_reported) AS periods_office_not_reported
FROM period_characteristics;
