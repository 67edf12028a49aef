-- Wage files are whole quarters: a newer delivery of a quarter replaces it.
DELETE FROM {hist} WHERE _period = $period;
