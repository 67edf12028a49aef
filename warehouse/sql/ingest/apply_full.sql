-- A FULL drop is the system's complete content: a key last delivered before it and absent
-- from it was removed at the source on that night (it comes back if delivered again later).
UPDATE {seen} SET removed_on = greatest(coalesce(removed_on, DATE '0001-01-01'), $full_date)
WHERE last_seen < $full_date;
