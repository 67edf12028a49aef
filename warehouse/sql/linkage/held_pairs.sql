-- Every held scored pair (at or above the review floor), as clustering and the review queue read them.
SELECT unique_id_l, unique_id_r, source_system_l, source_record_id_l, source_system_r, source_record_id_r,
       match_weight, match_probability, fs_match_probability, vetoed
FROM linkage_pairs
ORDER BY unique_id_l, unique_id_r;
