-- Calendar quarter as one integer (year * 4 + quarter - 1): a copy of `ind_q` in
-- indicators/macros.sql under its own name, so "quarter N after exit" is `pirl_q(exit_date) + N`
-- exactly as the indicators count it (and wage rows are `year * 4 + quarter - 1`).
CREATE OR REPLACE TEMP MACRO pirl_q(d) AS year(d) * 4 + quarter(d) - 1;
