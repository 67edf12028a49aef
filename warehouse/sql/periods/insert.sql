INSERT INTO participation BY NAME
SELECT * EXCLUDE (person_key, merged_periods) FROM periods_final;
