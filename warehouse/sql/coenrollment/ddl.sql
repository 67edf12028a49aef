-- The published co-enrollment tables (analytics zone): counts only, no person identifiers.
-- `suppressed` (and the `*_suppressed` flags of ui_claimants_wp) tell a report to print `**`.
CREATE OR REPLACE TABLE coenrollment (
    programs        VARCHAR NOT NULL,  -- `+`-joined programs in the fixed program order, or ALL
    period          VARCHAR NOT NULL,  -- PY2024
    program_year    INTEGER NOT NULL,
    customers       BIGINT NOT NULL,
    suppressed      BOOLEAN NOT NULL
);
CREATE OR REPLACE TABLE coenrollment_overlap (
    period          VARCHAR NOT NULL,
    program_year    INTEGER NOT NULL,
    program         VARCHAR NOT NULL,
    other_program   VARCHAR NOT NULL,
    participants    BIGINT NOT NULL,
    coenrolled      BIGINT NOT NULL,
    share           DOUBLE,            -- NULL when there are no participants
    suppressed      BOOLEAN NOT NULL
);
CREATE OR REPLACE TABLE ui_claimants_wp (
    period                                VARCHAR NOT NULL,
    program_year                          INTEGER NOT NULL,
    claimants                             BIGINT NOT NULL,
    registered_with_wp                    BIGINT NOT NULL,
    served_by_wp                          BIGINT NOT NULL,
    median_days_to_first_wp_service       DOUBLE,
    mean_days_to_first_wp_service         DOUBLE,
    resea_selected                        BIGINT NOT NULL,
    suppressed                            BOOLEAN NOT NULL,  -- claimants (and so the whole row)
    registered_with_wp_suppressed         BOOLEAN NOT NULL,
    served_by_wp_suppressed               BOOLEAN NOT NULL,
    days_to_first_wp_service_suppressed   BOOLEAN NOT NULL,  -- median and mean
    resea_selected_suppressed             BOOLEAN NOT NULL
);
CREATE OR REPLACE TABLE vr_waitlist_wp (
    period              VARCHAR NOT NULL,
    program_year        INTEGER NOT NULL,
    waitlist_customers  BIGINT NOT NULL,
    served_by_wp        BIGINT NOT NULL,
    share               DOUBLE,
    suppressed          BOOLEAN NOT NULL
);
CREATE OR REPLACE TABLE adult_ed_title1 (
    period              VARCHAR NOT NULL,
    program_year        INTEGER NOT NULL,
    title1_program      VARCHAR NOT NULL,  -- ADULT, DW, YOUTH, or ANY of them
    adult_ed_learners   BIGINT NOT NULL,
    coenrolled          BIGINT NOT NULL,
    share               DOUBLE,
    suppressed          BOOLEAN NOT NULL
);
