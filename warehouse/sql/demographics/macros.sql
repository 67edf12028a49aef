-- Age in whole years on day d (a birthday on d counts: born 2005-06-30 is 19 on 2024-06-30; a
-- 29 February birthday is reached on 1 March in other years). NULL when either date is NULL.
CREATE OR REPLACE TEMP MACRO demog_age(birth, d) AS
    year(d) - year(birth)
    - CASE WHEN month(d) * 100 + day(d) < month(birth) * 100 + day(birth) THEN 1 ELSE 0 END;
-- The band whose lower bound is the highest one <= age (bounds ascending); below the first band,
-- or no age, is not reported.
CREATE OR REPLACE TEMP MACRO demog_age_group(age, labels, mins, not_reported) AS
    coalesce(labels[len(list_filter(mins, lambda m: m <= age))], not_reported);
-- ETA convention: Hispanic of any race; otherwise the one race reported, or two or more.
CREATE OR REPLACE TEMP MACRO demog_race(hisp, races, hispanic_label, two_or_more, not_reported) AS
    CASE WHEN coalesce(hisp, false) THEN hispanic_label
         WHEN len(races) = 1 THEN races[1]
         WHEN len(races) > 1 THEN two_or_more
         ELSE not_reported END;
-- Whether a record says anything about race/ethnicity (a bare "not Hispanic" does not).
CREATE OR REPLACE TEMP MACRO demog_race_known(hisp, races) AS
    coalesce(hisp, false) OR coalesce(len(races) > 0, false);
CREATE OR REPLACE TEMP MACRO demog_flag(b, yes, no, not_reported) AS
    CASE WHEN b THEN yes WHEN NOT b THEN no ELSE not_reported END;
CREATE OR REPLACE TEMP MACRO demog_sex(s) AS CASE WHEN s IN ('M', 'F') THEN s ELSE 'U' END;
