-- Drop held pairs that touch a record scored anew tonight or gone from the sources.
DELETE FROM linkage_pairs
WHERE unique_id_l IN (SELECT unique_id FROM linkage_touched)
   OR unique_id_r IN (SELECT unique_id FROM linkage_touched);
