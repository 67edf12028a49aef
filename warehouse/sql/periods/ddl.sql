-- Periods of participation, one row per period per program, rebuilt whole on every run.
CREATE OR REPLACE TABLE participation (
    period_id                   VARCHAR PRIMARY KEY, -- program:source_record_id:entry YYYYMMDD
    customer_id                 BIGINT,              -- NULL when the record has no customer_xref row
    program                     VARCHAR NOT NULL,    -- ADULT, DW, YOUTH, ADULT_ED, WP, VR
    source_system               VARCHAR NOT NULL,
    source_record_id            VARCHAR NOT NULL,    -- the person-bearing record (WP/AE: of the first service)
    source_person_id            VARCHAR,             -- the system's own person key, where it has one
    entry_date                  DATE NOT NULL,
    exit_date                   DATE,                -- NULL while participating (after common exit)
    exit_reason                 VARCHAR,             -- 01-06 as recorded; NULL for none (00) or not recorded
    last_service_date           DATE,                -- last qualifying service / class / recorded exit
    exit_basis                  VARCHAR,             -- RECORDED, NINETY_DAYS, COMMON_EXIT; NULL while open
    program_exit_date           DATE,                -- the program's own exit, before common exit
    common_exit_group           VARCHAR,             -- period_id of the first period of the DOL chain
    services                    BIGINT,              -- WP qualifying services, Adult Ed class days
    office                      VARCHAR,             -- WP: office of the first qualifying service
    employment_status_at_entry  VARCHAR,             -- Title I; WP from the (current) registration
    highest_education           VARCHAR,             -- Title I; WP from the registration
    ui_claimant                 BOOLEAN,             -- WP registration
    low_income                  BOOLEAN,             -- Title I
    youth_in_school             BOOLEAN,             -- Title I Youth
    training_type               VARCHAR,             -- Title I, 00 none
    training_start_date         DATE,
    training_end_date           DATE,
    in_education_or_training    BOOLEAN,             -- Title I training/in school, every AE learner, VR EDUCATION_TRAINING
    ae_hours                    DOUBLE,              -- contact hours in the period
    ae_participant_date         DATE,                -- the class day the threshold was reached
    ae_program_type             VARCHAR,
    ae_diploma_at_entry         BOOLEAN,
    ae_highest_grade_at_entry   BIGINT,
    ae_section_225              BOOLEAN,
    vr_application_date         DATE,
    vr_eligibility_date         DATE,
    vr_ipe_date                 DATE,
    vr_oos_category             VARCHAR,
    vr_closure_type             VARCHAR,
    vr_closure_reason           VARCHAR,
    vr_primary_impairment       VARCHAR,
    as_of                       DATE NOT NULL
);
