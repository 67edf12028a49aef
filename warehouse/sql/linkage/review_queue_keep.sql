-- Keep when each queued pair was first queued, then empty the queue for tonight's.
CREATE OR REPLACE TEMP TABLE review_queue_prev AS SELECT unique_id_l, unique_id_r, queued_on FROM review_queue;
DELETE FROM review_queue;
