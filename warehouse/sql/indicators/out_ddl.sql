CREATE OR REPLACE TEMP TABLE ind_out (
    program      VARCHAR,
    program_year INTEGER,
    indicator    VARCHAR,
    numerator    BIGINT,
    denominator  BIGINT,
    pending      BIGINT,
    value        DOUBLE
);
