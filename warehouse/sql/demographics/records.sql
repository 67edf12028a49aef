-- Per person-bearing source record, the characteristics it carries, in one shape: sex and DOB
-- (for periods without a customer), Hispanic (Y/N/U -> true/false/NULL), the races reported
-- (canonical codes -> labels; unknown codes dropped), veteran, disability (Y/N/U -> true/false/
-- NULL; a VR case means a disability), low income (Title I only). record_date is when the record
-- says it: the customer's values use only records dated on or before the as-of date.
CREATE OR REPLACE TEMP TABLE demog_records AS
SELECT
    'wp' AS source_system,
    r.individual_id AS source_record_id,
    r.registration_date AS record_date,
    r.sex,
    r.birth_date,
    CASE r.hispanic WHEN 'Y' THEN true WHEN 'N' THEN false END AS hispanic,
    list_sort(list_distinct(list_filter(
        list_transform(string_split(r.race, ';'),
                       lambda c: $race_labels[list_position($race_codes, trim(c))]),
        lambda l: l IS NOT NULL))) AS races,
    r.veteran,
    CASE r.disability WHEN 'Y' THEN true WHEN 'N' THEN false END AS disability,
    NULL::BOOLEAN AS low_income
FROM stg_wp_registrations AS r
UNION ALL BY NAME
SELECT
    'title1' AS source_system,
    t.participation_id AS source_record_id,
    t.entry_date AS record_date,
    t.sex,
    t.birth_date,
    NULL::BOOLEAN AS hispanic,
    NULL::VARCHAR[] AS races,
    t.veteran,
    CASE t.disability WHEN 'Y' THEN true WHEN 'N' THEN false END AS disability,
    t.low_income
FROM stg_t1_participation AS t
UNION ALL BY NAME
SELECT
    'vr' AS source_system,
    v.case_id AS source_record_id,
    v.service_start_date AS record_date, -- a case without IPE services says nothing
    v.sex,
    v.birth_date,
    NULL::BOOLEAN AS hispanic,
    NULL::VARCHAR[] AS races,
    NULL::BOOLEAN AS veteran,
    true AS disability,
    NULL::BOOLEAN AS low_income
FROM stg_vr_cases AS v
UNION ALL BY NAME
SELECT
    'adult_ed' AS source_system,
    a.student_id AS source_record_id,
    NULL::DATE AS record_date, -- carries sex and DOB only
    a.sex,
    a.birth_date,
    NULL::BOOLEAN AS hispanic,
    NULL::VARCHAR[] AS races,
    NULL::BOOLEAN AS veteran,
    NULL::BOOLEAN AS disability,
    NULL::BOOLEAN AS low_income
FROM stg_ae_students AS a;
