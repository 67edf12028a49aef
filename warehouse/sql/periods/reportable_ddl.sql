-- Reportable individuals: contacts that did not make (or fall inside) a period of participation.
-- One row per person (customer, or the source record when unlinked) and program.
CREATE OR REPLACE TABLE reportable_individuals (
    reportable_id       VARCHAR PRIMARY KEY, -- program:source_record_id
    customer_id         BIGINT,
    program             VARCHAR NOT NULL,    -- WP, ADULT_ED, VR
    source_system       VARCHAR NOT NULL,
    source_record_id    VARCHAR NOT NULL,    -- the record of the first such contact
    basis               VARCHAR NOT NULL,    -- SELF_SERVICE, REGISTERED, UNDER_HOURS, APPLICANT
    first_contact_date  DATE,
    last_contact_date   DATE,
    contacts            BIGINT NOT NULL,     -- services / class days / cases
    ae_hours            DOUBLE,
    ever_participant    BOOLEAN NOT NULL,    -- the same person has a period in this program
    as_of               DATE NOT NULL
);
