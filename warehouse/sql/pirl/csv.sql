-- The PIRL extract as text, one row per period in period order: dates YYYYMMDD, wages with cents,
-- codes as digits, blank for NULL. Header = element number + short name. `program` says which
-- program the row is the period of (several co-enrollment flags can be 1); the internal keys
-- period_id and customer_id are left out (100 already identifies the customer).
SELECT
    program,
    coalesce(e100_unique_individual_identifier, '') AS "100_unique_individual_identifier",
    coalesce(strftime(e200_date_of_birth, '%Y%m%d'), '') AS "200_date_of_birth",
    coalesce(e201_sex::VARCHAR, '') AS "201_sex",
    coalesce(strftime(e900_date_of_program_entry, '%Y%m%d'), '') AS "900_date_of_program_entry",
    coalesce(strftime(e901_date_of_program_exit, '%Y%m%d'), '') AS "901_date_of_program_exit",
    coalesce(e903_adult::VARCHAR, '') AS "903_adult",
    coalesce(e904_dislocated_worker::VARCHAR, '') AS "904_dislocated_worker",
    coalesce(e905_youth::VARCHAR, '') AS "905_youth",
    coalesce(e910_adult_education::VARCHAR, '') AS "910_adult_education",
    coalesce(e917_vocational_rehabilitation::VARCHAR, '') AS "917_vocational_rehabilitation",
    coalesce(e918_wagner_peyser::VARCHAR, '') AS "918_wagner_peyser",
    coalesce(e923_other_reasons_for_exit, '') AS "923_other_reasons_for_exit",
    coalesce(e1600_employed_q1_after_exit::VARCHAR, '') AS "1600_employed_q1_after_exit",
    coalesce(e1602_employed_q2_after_exit::VARCHAR, '') AS "1602_employed_q2_after_exit",
    coalesce(e1604_employed_q3_after_exit::VARCHAR, '') AS "1604_employed_q3_after_exit",
    coalesce(e1606_employed_q4_after_exit::VARCHAR, '') AS "1606_employed_q4_after_exit",
    coalesce(e1618_retention_with_same_employer::VARCHAR, '') AS "1618_retention_with_same_employer",
    coalesce(e1703_wages_q1_after_exit::VARCHAR, '') AS "1703_wages_q1_after_exit",
    coalesce(e1704_wages_q2_after_exit::VARCHAR, '') AS "1704_wages_q2_after_exit",
    coalesce(e1705_wages_q3_after_exit::VARCHAR, '') AS "1705_wages_q3_after_exit",
    coalesce(e1706_wages_q4_after_exit::VARCHAR, '') AS "1706_wages_q4_after_exit",
    coalesce(e1800_type_of_credential_1::VARCHAR, '') AS "1800_type_of_credential_1",
    coalesce(strftime(e1801_date_attained_credential_1, '%Y%m%d'), '') AS "1801_date_attained_credential_1",
    coalesce(e1802_type_of_credential_2::VARCHAR, '') AS "1802_type_of_credential_2",
    coalesce(strftime(e1803_date_attained_credential_2, '%Y%m%d'), '') AS "1803_date_attained_credential_2",
    coalesce(e1804_type_of_credential_3::VARCHAR, '') AS "1804_type_of_credential_3",
    coalesce(strftime(e1805_date_attained_credential_3, '%Y%m%d'), '') AS "1805_date_attained_credential_3",
    coalesce(strftime(e1806_date_latest_gain_efl, '%Y%m%d'), '') AS "1806_date_latest_gain_efl",
    coalesce(strftime(e1807_date_latest_gain_secondary_diploma, '%Y%m%d'), '')
        AS "1807_date_latest_gain_secondary_diploma",
    coalesce(strftime(e1808_date_latest_gain_transcript_report_card, '%Y%m%d'), '')
        AS "1808_date_latest_gain_transcript_report_card",
    coalesce(strftime(e1809_date_latest_gain_training_milestone, '%Y%m%d'), '')
        AS "1809_date_latest_gain_training_milestone",
    coalesce(strftime(e1810_date_latest_gain_skills_progression, '%Y%m%d'), '')
        AS "1810_date_latest_gain_skills_progression",
    coalesce(strftime(e1811_date_enrolled_post_exit_education, '%Y%m%d'), '')
        AS "1811_date_enrolled_post_exit_education",
    coalesce(strftime(e1813_date_completed_education_or_training, '%Y%m%d'), '')
        AS "1813_date_completed_education_or_training"
FROM pirl
ORDER BY period_id;
