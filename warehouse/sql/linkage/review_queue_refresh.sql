-- Tonight's queue; a pair keeps the date it was first queued (? = tonight's run date).
INSERT INTO review_queue
SELECT q.unique_id_l, q.unique_id_r, q.source_system_l, q.source_record_id_l, q.source_system_r,
       q.source_record_id_r, q.match_weight, q.match_probability, q.customer_id_l, q.customer_id_r,
       q.reason, coalesce(p.queued_on, CAST(? AS DATE))
FROM review_queue_new q
LEFT JOIN review_queue_prev p USING (unique_id_l, unique_id_r);
