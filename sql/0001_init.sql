-- ClaimFlow schema, version 1: the whole model of the revenue cycle.
--
-- Constraints live here as well as in Swift: the database is the last line of defence
-- against a bad write from any client, including an operator with psql.

-- Practices are billing providers: the 837P's loop 2010AA comes from this row.
CREATE TABLE practices (
    id               uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    code             text NOT NULL UNIQUE CHECK (code ~ '^[A-Z0-9_-]{2,20}$'),
    name             text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    npi              text NOT NULL CHECK (npi ~ '^[0-9]{10}$'),
    tax_id           text NOT NULL CHECK (tax_id ~ '^[0-9]{9}$'),
    taxonomy         text NOT NULL CHECK (taxonomy ~ '^[0-9A-Z]{9}X$'),
    address_line1    text NOT NULL CHECK (length(address_line1) BETWEEN 1 AND 55),
    address_line2    text CHECK (length(address_line2) <= 55),
    city             text NOT NULL CHECK (length(city) BETWEEN 1 AND 30),
    state            text NOT NULL CHECK (state ~ '^[A-Z]{2}$'),
    postal_code      text NOT NULL CHECK (postal_code ~ '^[0-9]{5}([0-9]{4})?$'),
    -- When true, the biller of a claim may not be the coder of its encounter.
    segregate_duties boolean NOT NULL DEFAULT false,
    created_at       timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE users (
    id           uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    username     text NOT NULL UNIQUE CHECK (username ~ '^[a-z0-9][a-z0-9._-]{1,62}$'),
    display_name text NOT NULL CHECK (length(display_name) BETWEEN 1 AND 200),
    roles        text[] NOT NULL DEFAULT '{}'
                 CHECK (roles <@ ARRAY['intake', 'coder', 'biller', 'supervisor', 'admin']),
    -- Specialties this user may code (matched against work_items.required_skill).
    skills       text[] NOT NULL DEFAULT '{}',
    active       boolean NOT NULL DEFAULT true,
    created_at   timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE user_practices (
    user_id     uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    practice_id uuid NOT NULL REFERENCES practices (id),
    PRIMARY KEY (user_id, practice_id)
);

-- Bearer tokens are stored as SHA-256 digests only; the token itself is shown once.
CREATE TABLE api_tokens (
    id           uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id      uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    token_hash   bytea NOT NULL UNIQUE CHECK (octet_length(token_hash) = 32),
    label        text NOT NULL DEFAULT '' CHECK (length(label) <= 200),
    created_at   timestamptz NOT NULL DEFAULT now(),
    expires_at   timestamptz,
    revoked_at   timestamptz,
    last_used_at timestamptz
);
CREATE INDEX api_tokens_user ON api_tokens (user_id);

-- Rendering providers (clinicians) of a practice.
CREATE TABLE providers (
    id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    practice_id uuid NOT NULL REFERENCES practices (id),
    npi         text NOT NULL CHECK (npi ~ '^[0-9]{10}$'),
    first_name  text NOT NULL CHECK (length(first_name) BETWEEN 1 AND 35),
    last_name   text NOT NULL CHECK (length(last_name) BETWEEN 1 AND 60),
    taxonomy    text CHECK (taxonomy ~ '^[0-9A-Z]{9}X$'),
    UNIQUE (practice_id, npi)
);

CREATE TABLE payers (
    id                 uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    -- The payer's electronic id as the clearinghouse knows it (837P NM109 of loop 2010BB).
    payer_code         text NOT NULL UNIQUE CHECK (payer_code ~ '^[A-Za-z0-9]{2,80}$'),
    name               text NOT NULL CHECK (length(name) BETWEEN 1 AND 60),
    -- Days after the date of service within which the payer accepts a claim.
    filing_limit_days  integer NOT NULL DEFAULT 365 CHECK (filing_limit_days BETWEEN 1 AND 3650),
    created_at         timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE patients (
    id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    practice_id   uuid NOT NULL REFERENCES practices (id),
    -- The practice's medical record number.
    mrn           text NOT NULL CHECK (length(mrn) BETWEEN 1 AND 50),
    first_name    text NOT NULL CHECK (length(first_name) BETWEEN 1 AND 35),
    last_name     text NOT NULL CHECK (length(last_name) BETWEEN 1 AND 60),
    birth_date    date NOT NULL,
    sex           text NOT NULL CHECK (sex IN ('F', 'M', 'U')),
    address_line1 text CHECK (length(address_line1) <= 55),
    city          text CHECK (length(city) <= 30),
    state         text CHECK (state ~ '^[A-Z]{2}$'),
    postal_code   text CHECK (postal_code ~ '^[0-9]{5}([0-9]{4})?$'),
    UNIQUE (practice_id, mrn)
);

-- The insured person of a coverage: the patient themself, or a spouse, parent, ...
CREATE TABLE subscribers (
    id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    practice_id   uuid NOT NULL REFERENCES practices (id),
    payer_id      uuid NOT NULL REFERENCES payers (id),
    member_id     text NOT NULL CHECK (length(member_id) BETWEEN 2 AND 80),
    group_number  text CHECK (length(group_number) <= 50),
    first_name    text NOT NULL CHECK (length(first_name) BETWEEN 1 AND 35),
    last_name     text NOT NULL CHECK (length(last_name) BETWEEN 1 AND 60),
    birth_date    date NOT NULL,
    sex           text NOT NULL CHECK (sex IN ('F', 'M', 'U')),
    address_line1 text CHECK (length(address_line1) <= 55),
    city          text CHECK (length(city) <= 30),
    state         text CHECK (state ~ '^[A-Z]{2}$'),
    postal_code   text CHECK (postal_code ~ '^[0-9]{5}([0-9]{4})?$'),
    UNIQUE (practice_id, payer_id, member_id)
);

-- Stage values are fixed here; the allowed moves between them come from ClaimFlowCore
-- (StageTransitions) and are copied into stage_transitions by every `claimflow migrate`.
CREATE TABLE encounters (
    id                    uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    practice_id           uuid NOT NULL REFERENCES practices (id),
    external_id           text NOT NULL CHECK (length(external_id) BETWEEN 1 AND 80),
    patient_id            uuid NOT NULL REFERENCES patients (id),
    subscriber_id         uuid REFERENCES subscribers (id),
    -- X12 individual relationship code of the patient to the subscriber (18 = self).
    patient_relationship  text NOT NULL DEFAULT '18'
                          CHECK (patient_relationship IN ('01', '18', '19', '20', '21', '39', '40', '53', 'G8')),
    payer_id              uuid REFERENCES payers (id),
    rendering_provider_id uuid REFERENCES providers (id),
    date_of_service       date NOT NULL,
    place_of_service      text NOT NULL CHECK (place_of_service ~ '^[0-9]{2}$'),
    specialty             text NOT NULL CHECK (specialty ~ '^[a-z][a-z0-9_]{1,40}$'),
    priority              integer NOT NULL DEFAULT 0 CHECK (priority BETWEEN 0 AND 100),
    stage                 text NOT NULL DEFAULT 'received' CHECK (stage IN (
                              'received', 'ready_to_code', 'coding', 'on_hold', 'coded',
                              'returned_to_coding', 'ready_to_bill', 'billing', 'submitted',
                              'accepted', 'rejected', 'denied', 'rework', 'paid', 'closed')),
    -- Coding version: rework after a denial codes the encounter again as version + 1.
    version               integer NOT NULL DEFAULT 1 CHECK (version >= 1),
    documentation         text NOT NULL CHECK (length(documentation) <= 100000),
    -- SHA-256 of the canonical intake body, so a replay can be told from a conflicting edit.
    intake_digest         bytea CHECK (octet_length(intake_digest) = 32),
    coded_by              uuid REFERENCES users (id),
    created_at            timestamptz NOT NULL DEFAULT now(),
    updated_at            timestamptz NOT NULL DEFAULT now(),
    UNIQUE (practice_id, external_id)
);
CREATE INDEX encounters_practice_stage ON encounters (practice_id, stage);
CREATE INDEX encounters_patient ON encounters (patient_id);

-- The one list of legal stage moves, written by `claimflow migrate` from ClaimFlowCore.
CREATE TABLE stage_transitions (
    from_stage text NOT NULL,
    to_stage   text NOT NULL,
    PRIMARY KEY (from_stage, to_stage)
);

-- Refuses any stage change not listed in stage_transitions, whoever makes it.
CREATE FUNCTION enforce_stage_transition() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM stage_transitions
                   WHERE from_stage = OLD.stage AND to_stage = NEW.stage) THEN
        RAISE EXCEPTION 'illegal stage transition % -> % for encounter %', OLD.stage, NEW.stage, OLD.id
            USING ERRCODE = 'check_violation', CONSTRAINT = 'encounters_stage_transition';
    END IF;
    RETURN NEW;
END $$;

CREATE TRIGGER encounters_stage_transition
    BEFORE UPDATE OF stage ON encounters
    FOR EACH ROW WHEN (OLD.stage IS DISTINCT FROM NEW.stage)
    EXECUTE FUNCTION enforce_stage_transition();

-- A coder's diagnoses for one coding version of an encounter, in claim order (HI segment).
CREATE TABLE diagnoses (
    encounter_id uuid NOT NULL REFERENCES encounters (id),
    version      integer NOT NULL CHECK (version >= 1),
    position     smallint NOT NULL CHECK (position BETWEEN 1 AND 12),
    code         text NOT NULL CHECK (code ~ '^[A-Z][0-9A-Z]{2,6}$'),
    PRIMARY KEY (encounter_id, version, position)
);

-- Service lines (837P loop 2400) for one coding version of an encounter.
CREATE TABLE service_lines (
    encounter_id uuid NOT NULL REFERENCES encounters (id),
    version      integer NOT NULL CHECK (version >= 1),
    line_number  smallint NOT NULL CHECK (line_number BETWEEN 1 AND 50),
    code         text NOT NULL CHECK (code ~ '^([0-9]{5}|[0-9]{4}[FTU]|[A-Z][0-9]{4})$'),
    modifiers    text[] NOT NULL DEFAULT '{}' CHECK (cardinality(modifiers) <= 4),
    units        numeric(9, 3) NOT NULL CHECK (units > 0),
    charge       numeric(12, 2) NOT NULL CHECK (charge >= 0),
    pointers     smallint[] NOT NULL CHECK (cardinality(pointers) BETWEEN 1 AND 4),
    PRIMARY KEY (encounter_id, version, line_number)
);

-- One row per claim version. Rework never edits a submitted claim: it adds a version that
-- replaces (frequency 7) or voids (8) the one before, which is kept.
CREATE TABLE claims (
    id                   uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    encounter_id         uuid NOT NULL REFERENCES encounters (id),
    -- Claim version: each submission of the encounter is a new version, never an edit.
    version              integer NOT NULL CHECK (version >= 1),
    -- The encounter's coding version whose codes this claim carries.
    coding_version       integer NOT NULL CHECK (coding_version >= 1),
    frequency_code       text NOT NULL DEFAULT '1' CHECK (frequency_code IN ('1', '7', '8')),
    replaces_claim_id    uuid REFERENCES claims (id),
    -- The payer's claim control number from the 277CA/835, needed by REF*F8 on 7 and 8.
    payer_claim_number   text CHECK (length(payer_claim_number) <= 50),
    -- withdrawn: returned to coding by billing before it was ever submitted.
    status               text NOT NULL DEFAULT 'ready' CHECK (status IN (
                             'ready', 'withdrawn', 'submitted', 'accepted', 'rejected', 'paid', 'denied',
                             'voided')),
    total_charge         numeric(12, 2) NOT NULL CHECK (total_charge >= 0),
    paid_amount          numeric(12, 2),
    coded_by             uuid REFERENCES users (id),
    submitted_by         uuid REFERENCES users (id),
    created_at           timestamptz NOT NULL DEFAULT now(),
    submitted_at         timestamptz,
    UNIQUE (encounter_id, version),
    CHECK ((frequency_code = '1') = (replaces_claim_id IS NULL))
);

-- A coder's question to the clinician (the encounter waits on hold until it is answered).
CREATE TABLE provider_queries (
    id           uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    encounter_id uuid NOT NULL REFERENCES encounters (id),
    asked_by     uuid NOT NULL REFERENCES users (id),
    question     text NOT NULL CHECK (length(question) BETWEEN 1 AND 4000),
    asked_at     timestamptz NOT NULL DEFAULT now(),
    answered_by  uuid REFERENCES users (id),
    answer       text CHECK (length(answer) BETWEEN 1 AND 4000),
    answered_at  timestamptz,
    CHECK ((answer IS NULL) = (answered_at IS NULL))
);
-- At most one open question per encounter.
CREATE UNIQUE INDEX provider_queries_open ON provider_queries (encounter_id) WHERE answered_at IS NULL;

-- The hot queue table: one row per piece of open work, deleted when the work is done, so the
-- dequeue index stays small under churn. History lives in events.
CREATE TABLE work_items (
    id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    encounter_id     uuid NOT NULL UNIQUE REFERENCES encounters (id),
    queue            text NOT NULL CHECK (queue IN ('coding', 'billing')),
    practice_id      uuid NOT NULL REFERENCES practices (id),
    required_skill   text,
    priority         integer NOT NULL DEFAULT 0 CHECK (priority BETWEEN 0 AND 100),
    -- The stage the encounter waits in while unleased (restored on release or expiry).
    waiting_stage    text NOT NULL CHECK (waiting_stage IN (
                         'ready_to_code', 'returned_to_coding', 'rework', 'ready_to_bill')),
    enqueued_at      timestamptz NOT NULL DEFAULT now(),
    available_at     timestamptz NOT NULL DEFAULT now(),
    -- Offered only to this user until offered_until (a returned encounter goes back to its
    -- coder first), then to anyone who may take it.
    offered_to       uuid REFERENCES users (id),
    offered_until    timestamptz,
    lease_id         uuid UNIQUE,
    lease_holder     uuid REFERENCES users (id),
    leased_at        timestamptz,
    lease_expires_at timestamptz,
    attempts         integer NOT NULL DEFAULT 0,
    -- Copies of the encounter's facts the supervisor's queue view aggregates, kept here so
    -- the view reads this small table alone: the date of service (aging), the last day the
    -- payer accepts a claim, and the charges of the current codes (not-final-billed dollars).
    date_of_service  date,
    filing_deadline  date,
    charges          numeric(12, 2) NOT NULL DEFAULT 0,
    CHECK ((lease_id IS NULL) = (lease_holder IS NULL)
       AND (lease_id IS NULL) = (lease_expires_at IS NULL)
       AND (lease_id IS NULL) = (leased_at IS NULL))
) WITH (fillfactor = 80);

-- Pull-next walks this index in priority-then-age order, over unleased rows only.
CREATE INDEX work_items_dequeue ON work_items (queue, priority DESC, enqueued_at, id)
    WHERE lease_id IS NULL;
-- The reaper's scan for expired leases.
CREATE INDEX work_items_lease_expiry ON work_items (lease_expires_at)
    WHERE lease_id IS NOT NULL;
CREATE INDEX work_items_holder ON work_items (lease_holder) WHERE lease_holder IS NOT NULL;

-- Wakes long-polling pullers (LISTEN claimflow_work) whenever work becomes available.
-- PostgreSQL folds identical notifications of one transaction into one.
CREATE FUNCTION notify_work_available() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('claimflow_work', NEW.queue);
    RETURN NULL;
END $$;

CREATE TRIGGER work_items_available
    AFTER INSERT OR UPDATE OF lease_id ON work_items
    FOR EACH ROW WHEN (NEW.lease_id IS NULL)
    EXECUTE FUNCTION notify_work_available();

-- The append-only audit trail: every state change and every read of PHI.
CREATE TABLE events (
    id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    occurred_at    timestamptz NOT NULL DEFAULT clock_timestamp(),
    encounter_id   uuid REFERENCES encounters (id),
    practice_id    uuid REFERENCES practices (id),
    -- NULL actor means ClaimFlow itself (a worker or the reaper).
    actor_id       uuid REFERENCES users (id),
    action         text NOT NULL CHECK (action ~ '^[a-z][a-z_.]{1,60}$'),
    from_stage     text,
    to_stage       text,
    lease_id       uuid,
    client_address text,
    request_id     text,
    detail         jsonb NOT NULL DEFAULT '{}'
);
CREATE INDEX events_encounter ON events (encounter_id, id) WHERE encounter_id IS NOT NULL;
CREATE INDEX events_actor ON events (actor_id, occurred_at) WHERE actor_id IS NOT NULL;

CREATE FUNCTION refuse_event_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'events are append-only'
        USING ERRCODE = 'insufficient_privilege';
END $$;

CREATE TRIGGER events_append_only
    BEFORE UPDATE OR DELETE ON events
    FOR EACH ROW EXECUTE FUNCTION refuse_event_change();
CREATE TRIGGER events_no_truncate
    BEFORE TRUNCATE ON events
    FOR EACH STATEMENT EXECUTE FUNCTION refuse_event_change();

-- The supervisor's work list pages through encounters by date of service.
CREATE INDEX encounters_practice_dos ON encounters (practice_id, date_of_service, id);
