-- Date of birth and sex (M, F or NULL) per period, filled from whichever identity tables exist.
CREATE OR REPLACE TEMP TABLE pirl_identity (
    period_id  VARCHAR PRIMARY KEY,
    birth_date DATE,
    sex        VARCHAR
);
