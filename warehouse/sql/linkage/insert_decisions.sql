-- Reviewer decisions from the registered frame decisions_batch, numbered in arrival order.
INSERT INTO review_decisions
SELECT nextval('review_decision_seq'), source_system_l, source_record_id_l, source_system_r, source_record_id_r,
       decision, reviewer, decided_at, note, source_file, source_line
FROM decisions_batch;
