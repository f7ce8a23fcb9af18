-- Remittance posting (835): every payment, line and adjustment as the payer sent it, so a
-- claim's money can be summed from the database and checked against the payer's equations.
--
-- An upload posts each claim payment in its own transaction. The rows below are keyed on
-- the file's digest, TRN02 and payer (remittances) and on the CLP's place in the file
-- (claim_payments), so uploading the same file again, or again after a crash halfway, posts
-- only what is not posted yet.

-- One 835 transaction set: one check, EFT or notice from one payer.
CREATE TABLE remittances (
    id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    -- SHA-256 of the uploaded file, hex.
    file_digest      text NOT NULL CHECK (file_digest ~ '^[0-9a-f]{64}$'),
    -- Position of the ST in the file: one file may carry several payments.
    set_position     integer NOT NULL CHECK (set_position >= 1),
    payer_code       text NOT NULL DEFAULT '' CHECK (length(payer_code) <= 80),
    check_number     text NOT NULL CHECK (length(check_number) BETWEEN 1 AND 50),
    total_paid       numeric(12, 2) NOT NULL,
    credit_debit     text NOT NULL CHECK (credit_debit IN ('C', 'D')),
    payment_method   text NOT NULL CHECK (length(payment_method) <= 3),
    payment_date     text CHECK (payment_date ~ '^[0-9]{8}$'),
    -- Why ΣCLP04 − ΣPLB04 ≠ BPR02, when it does not balance (also an exception).
    balance_finding  text,
    received_by      uuid REFERENCES users (id),
    received_at      timestamptz NOT NULL DEFAULT now(),
    UNIQUE (file_digest, payer_code, check_number, set_position)
);

-- One CLP posted to one claim version: a payment, a denial, a reversal or a pricing notice.
-- A claim may have several (split claims, a second payment, a reversal and its correction).
CREATE TABLE claim_payments (
    id                     bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    remittance_id          bigint NOT NULL REFERENCES remittances (id),
    clp_position           integer NOT NULL CHECK (clp_position >= 1),
    claim_id               uuid NOT NULL REFERENCES claims (id),
    status_code            text NOT NULL CHECK (status_code IN ('1', '2', '3', '4', '19', '20', '21', '22', '23', '25')),
    charge                 numeric(12, 2) NOT NULL,
    paid                   numeric(12, 2) NOT NULL,
    patient_responsibility numeric(12, 2),
    payer_claim_number     text CHECK (length(payer_claim_number) <= 50),
    -- A reversal (CLP02 22) names the payment it takes back.
    reverses_payment_id    bigint REFERENCES claim_payments (id),
    remark_codes           text[] NOT NULL DEFAULT '{}',
    posted_at              timestamptz NOT NULL DEFAULT now(),
    UNIQUE (remittance_id, clp_position),
    CHECK ((status_code = '22') = (reverses_payment_id IS NOT NULL))
);
CREATE INDEX claim_payments_claim ON claim_payments (claim_id, id);
-- A payment is reversed at most once.
CREATE UNIQUE INDEX claim_payments_reversed_once ON claim_payments (reverses_payment_id) WHERE reverses_payment_id IS NOT NULL;

-- One SVC of a claim payment, matched to the claim's service line it pays.
CREATE TABLE payment_lines (
    payment_id               bigint NOT NULL REFERENCES claim_payments (id),
    -- Place of the SVC within its CLP, 1-based.
    line_index               integer NOT NULL CHECK (line_index >= 1),
    -- The claim's service line (LX01 of the 837P), matched by REF*6R, else by procedure and
    -- modifiers; NULL when the payer answered for a line the claim cannot be matched to.
    line_number              integer CHECK (line_number BETWEEN 1 AND 50),
    procedure_code           text NOT NULL CHECK (length(procedure_code) BETWEEN 1 AND 48),
    modifiers                text[] NOT NULL DEFAULT '{}',
    charge                   numeric(12, 2) NOT NULL,
    paid                     numeric(12, 2) NOT NULL,
    allowed                  numeric(12, 2),
    units                    numeric(10, 3),
    line_item_control_number text CHECK (length(line_item_control_number) <= 50),
    remark_codes             text[] NOT NULL DEFAULT '{}',
    PRIMARY KEY (payment_id, line_index)
);

-- One CAS adjustment: at the claim level (line_index NULL) or on a line.
CREATE TABLE payment_adjustments (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    payment_id  bigint NOT NULL REFERENCES claim_payments (id),
    line_index  integer,
    group_code  text NOT NULL CHECK (group_code IN ('CO', 'OA', 'PI', 'PR', 'CR')),
    carc        text NOT NULL CHECK (carc ~ '^[A-Z0-9]{1,5}$'),
    amount      numeric(12, 2) NOT NULL,
    quantity    numeric(10, 3),
    FOREIGN KEY (payment_id, line_index) REFERENCES payment_lines (payment_id, line_index)
);
CREATE INDEX payment_adjustments_payment ON payment_adjustments (payment_id);

-- PLB: money moved between payer and provider outside any claim (WO recoupment, L6
-- interest, FB forwarding balance, 72 authorized return, ...). Positive takes money back.
CREATE TABLE provider_adjustments (
    id                 bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    remittance_id      bigint NOT NULL REFERENCES remittances (id),
    segment_position   integer NOT NULL,
    -- Which of the PLB's up to six reason and amount pairs, 1-based.
    pair_index         integer NOT NULL CHECK (pair_index BETWEEN 1 AND 6),
    provider_id        text NOT NULL CHECK (length(provider_id) BETWEEN 1 AND 50),
    fiscal_period_date text NOT NULL CHECK (length(fiscal_period_date) <= 8),
    reason_code        text NOT NULL CHECK (length(reason_code) BETWEEN 1 AND 2),
    reference          text CHECK (length(reference) <= 50),
    amount             numeric(12, 2) NOT NULL,
    UNIQUE (remittance_id, segment_position, pair_index)
);

-- What an upload could not post: an unknown claim, a claim that does not balance, a reversal
-- of a payment that was never posted. Billers work this list; the rest of the file posts.
-- practice_ids are the uploader's practices, which decide who may see an exception that
-- names no claim (an unknown patient control number).
CREATE TABLE remittance_exceptions (
    id                     bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    remittance_id          bigint NOT NULL REFERENCES remittances (id),
    -- The CLP's position; NULL for a finding about the whole payment.
    clp_position           integer,
    kind                   text NOT NULL CHECK (kind IN (
                               'unknown_claim', 'out_of_balance', 'payment_out_of_balance',
                               'reversal_without_payment', 'claim_not_payable')),
    claim_id               uuid REFERENCES claims (id),
    practice_ids           uuid[] NOT NULL,
    patient_control_number text CHECK (length(patient_control_number) <= 38),
    paid                   numeric(12, 2),
    reason                 text NOT NULL CHECK (length(reason) BETWEEN 1 AND 1000),
    created_at             timestamptz NOT NULL DEFAULT now(),
    resolved_at            timestamptz,
    resolved_by            uuid REFERENCES users (id),
    resolution             text CHECK (length(resolution) BETWEEN 1 AND 1000),
    CHECK ((resolved_at IS NULL) = (resolution IS NULL))
);
CREATE UNIQUE INDEX remittance_exceptions_once
    ON remittance_exceptions (remittance_id, coalesce(clp_position, 0), kind);
CREATE INDEX remittance_exceptions_open ON remittance_exceptions (id) WHERE resolved_at IS NULL;

-- A denial routed by a rule (denial_rules): to coding or billing with the action to take, or
-- to the patient's balance. A resend (corrected claim, new original, void) also puts the
-- encounter in its queue; the others are this list alone.
CREATE TABLE denial_followups (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    payment_id   bigint NOT NULL REFERENCES claim_payments (id),
    -- The SVC's place in its CLP for a line denial; NULL for the claim.
    line_index   integer,
    claim_id     uuid NOT NULL REFERENCES claims (id),
    encounter_id uuid NOT NULL REFERENCES encounters (id),
    rule_id      integer,
    queue        text NOT NULL CHECK (queue IN ('coding', 'billing', 'patient')),
    action       text NOT NULL CHECK (action IN (
                     'corrected_claim', 'new_original', 'void', 'appeal', 'write_off', 'bill_patient',
                     'eligibility_review', 'no_resend')),
    group_code   text NOT NULL,
    carc         text NOT NULL,
    remark_codes text[] NOT NULL DEFAULT '{}',
    amount       numeric(12, 2) NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    closed_at    timestamptz
);
CREATE UNIQUE INDEX denial_followups_once ON denial_followups (payment_id, coalesce(line_index, 0), queue);
CREATE INDEX denial_followups_open ON denial_followups (queue, id) WHERE closed_at IS NULL;
CREATE INDEX denial_followups_claim ON denial_followups (claim_id);

-- claim_answers records 835 outcomes beyond paid and denied now.
ALTER TABLE claim_answers DROP CONSTRAINT claim_answers_outcome_check;
ALTER TABLE claim_answers ADD CONSTRAINT claim_answers_outcome_check CHECK (outcome IN (
    'accepted', 'rejected', 'paid', 'denied', 'reversed', 'predetermination', 'forwarded'));
ALTER TABLE claim_answers DROP CONSTRAINT claim_answers_kind_check;
ALTER TABLE claim_answers ADD CONSTRAINT claim_answers_kind_check CHECK (kind IN ('999', '277CA', '835', 'TA1'));
