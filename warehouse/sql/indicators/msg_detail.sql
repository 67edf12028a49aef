-- Measurable skill gains (not WP): the quarters each unit was in education or training (its spans)
-- and the quarters of its gains. A unit is in a report window's denominator once when a span
-- overlaps the window (program years and quarters share edges, so quarter overlap is date
-- overlap), in the numerator when it has a gain dated inside the window. No pending.
CREATE OR REPLACE TEMP TABLE ind_msg AS
SELECT s.unit_id, any_value(s.program) AS program, ind_q(s.span_start) AS q_start, ind_q(s.span_end) AS q_end,
       list_distinct(list(ind_q(e.event_date)) FILTER (WHERE e.event_date IS NOT NULL)) AS gain_qs
FROM ind_spans AS s
LEFT JOIN ind_events AS e ON e.unit_id = s.unit_id AND e.kind = 'GAIN'
GROUP BY s.unit_id, s.span_start, s.span_end;
