-- One canonical person record per person-bearing source record (restricted zone: PII).
-- Linkage reads this table; identity values are standardized and null where unusable,
-- with a status saying why (the value as delivered stays in the hist_* tables).
CREATE OR REPLACE TABLE person_records (
    source_system      VARCHAR NOT NULL,   -- ui, wp, title1, vr, adult_ed
    file_type          VARCHAR NOT NULL,
    source_record_id   VARCHAR NOT NULL,   -- claim id, Individual ID, participation_id, CASE_ID, StudentID
    person_key         VARCHAR NOT NULL,   -- the system's own person id (participant_id, CLIENT_ID; else the record id)
    first_name         VARCHAR,
    middle_name        VARCHAR,
    last_name          VARCHAR,
    name_suffix        VARCHAR,
    last_name_parts    VARCHAR[],
    birth_date         DATE,
    birth_date_status  VARCHAR,
    ssn                VARCHAR,            -- valid SSNs only (contract rule); null otherwise
    ssn_status         VARCHAR,
    sex                VARCHAR,            -- M, F or null
    street             VARCHAR,
    city               VARCHAR,
    state              VARCHAR,
    zip5               VARCHAR,
    zip4               VARCHAR,
    phone              VARCHAR,
    email              VARCHAR,
    last_delivered     DATE,
    PRIMARY KEY (source_system, source_record_id)
);
