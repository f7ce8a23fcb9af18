-- Claims out (837P interchanges) and answers back (999, 277CA, 835).

-- Control numbers come from sequences: a sequence never hands out a number twice, even when
-- the transaction that took it rolls back, so a control number is never reused.
-- 999999999 is kept back for previews (GET /biller/claims/{id}/x12 before the claim goes out).
CREATE SEQUENCE interchange_control_numbers MINVALUE 1 MAXVALUE 999999998 NO CYCLE;
CREATE SEQUENCE group_control_numbers MINVALUE 1 MAXVALUE 999999998 NO CYCLE;

-- One row per 837P interchange. It is recorded (with its full text) before its file is
-- written, so a batcher killed after recording rewrites the same file on restart, and one
-- killed before recording leaves no file: every claim version goes out in exactly one file.
CREATE TABLE interchanges (
    id                   bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    control_number       bigint NOT NULL UNIQUE CHECK (control_number BETWEEN 1 AND 999999999),
    group_control_number bigint NOT NULL UNIQUE CHECK (group_control_number BETWEEN 1 AND 999999999),
    file_name            text NOT NULL UNIQUE,
    content              text NOT NULL,
    claim_count          integer NOT NULL CHECK (claim_count > 0),
    created_at           timestamptz NOT NULL DEFAULT now(),
    -- When the file was written (renamed into the outbox) and synced.
    written_at           timestamptz
);
CREATE INDEX interchanges_unwritten ON interchanges (id) WHERE written_at IS NULL;

CREATE TABLE interchange_claims (
    interchange_id         bigint NOT NULL REFERENCES interchanges (id),
    -- UNIQUE: a claim version is in one interchange at most.
    claim_id               uuid NOT NULL UNIQUE REFERENCES claims (id),
    transaction_set_number text NOT NULL,
    patient_control_number text NOT NULL,
    PRIMARY KEY (interchange_id, transaction_set_number)
);
CREATE INDEX interchange_claims_patient_control ON interchange_claims (patient_control_number);

-- The batcher's outbox: submitted claim versions waiting for an interchange.
CREATE INDEX claims_outbox ON claims (submitted_at, id) WHERE status = 'submitted';

-- Each payer answer applied to a claim: the acknowledgment or remittance line, its codes and
-- amounts (ids and money only, no names).
CREATE TABLE claim_answers (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    claim_id     uuid NOT NULL REFERENCES claims (id),
    kind         text NOT NULL CHECK (kind IN ('999', '277CA', '835')),
    outcome      text NOT NULL CHECK (outcome IN ('accepted', 'rejected', 'paid', 'denied')),
    detail       jsonb NOT NULL DEFAULT '{}',
    received_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX claim_answers_claim ON claim_answers (claim_id, id);

-- Which claim adjustment reason codes (CARC) send a denial back to coding; the rest go to
-- billing. Data, not code: a billing office adds its own.
CREATE TABLE coding_denial_reasons (
    carc        text PRIMARY KEY CHECK (carc ~ '^[A-Z0-9]{1,5}$'),
    description text NOT NULL
);
INSERT INTO coding_denial_reasons (carc, description) VALUES
    ('4', 'The procedure code is inconsistent with the modifier used, or a required modifier is missing'),
    ('5', 'The procedure code or bill type is inconsistent with the place of service'),
    ('6', 'The procedure or revenue code is inconsistent with the patient''s age'),
    ('7', 'The procedure or revenue code is inconsistent with the patient''s gender'),
    ('9', 'The diagnosis is inconsistent with the patient''s age'),
    ('10', 'The diagnosis is inconsistent with the patient''s gender'),
    ('11', 'The diagnosis is inconsistent with the procedure'),
    ('97', 'The benefit for this service is included in the payment for another service already adjudicated'),
    ('146', 'Diagnosis was invalid for the date(s) of service reported'),
    ('151', 'Payment adjusted because the payer deems the information submitted does not support this many or frequency of services'),
    ('167', 'This (these) diagnosis(es) is (are) not covered'),
    ('181', 'Procedure code was invalid on the date of service'),
    ('182', 'Procedure modifier was invalid on the date of service'),
    ('236', 'This procedure or procedure/modifier combination is not compatible with another procedure or procedure/modifier combination provided on the same day');

-- Productivity pairs each completion with the pull or assignment that started its lease.
CREATE INDEX events_lease ON events (lease_id, id) WHERE lease_id IS NOT NULL;
-- ...and counts by action over a date range.
CREATE INDEX events_action_time ON events (action, occurred_at);
