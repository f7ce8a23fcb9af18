-- What a background worker could not do for one encounter, so one bad item never holds back
-- the rest of its queue (as River and Oban treat a failing job):
--
-- - handoff: the check failed with an error (not a finding: findings send the encounter back
--   to coding). Retried with exponential backoff (next_attempt_at); after the worker's
--   attempt limit it is parked (parked_at set, next_attempt_at NULL) and waits for a
--   supervisor's retry. A later successful handoff deletes the row.
-- - submission_batcher: the 837P writer refused a submitted claim (kind unwritable_claim).
--   The claim left the outbox and the encounter went back to billing with the reason; the row
--   is parked at once, for supervisors to see, and goes when a later claim of the encounter is
--   batched.
--
-- last_error is an error code, SQLSTATE, constraint name or the 837P field the writer named,
-- never PHI or documentation text.
CREATE TABLE worker_failures (
    id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    encounter_id    uuid NOT NULL REFERENCES encounters (id),
    practice_id     uuid NOT NULL REFERENCES practices (id),
    worker          text NOT NULL CHECK (worker IN ('handoff', 'submission_batcher')),
    kind            text NOT NULL CHECK (kind IN ('handoff_error', 'unwritable_claim')),
    -- The claim version the writer refused (unwritable_claim only).
    claim_id        uuid REFERENCES claims (id),
    attempts        integer NOT NULL DEFAULT 1 CHECK (attempts >= 1),
    last_error      text NOT NULL CHECK (length(last_error) BETWEEN 1 AND 200),
    first_failed_at timestamptz NOT NULL DEFAULT now(),
    last_failed_at  timestamptz NOT NULL DEFAULT now(),
    next_attempt_at timestamptz,
    parked_at       timestamptz,
    -- One open failure per encounter and worker; it is either waiting for its next attempt or parked.
    UNIQUE (encounter_id, worker),
    CHECK ((next_attempt_at IS NULL) <> (parked_at IS NULL)),
    CHECK ((kind = 'unwritable_claim') = (claim_id IS NOT NULL))
);
CREATE INDEX worker_failures_practice ON worker_failures (practice_id, last_failed_at);

GRANT SELECT, INSERT, UPDATE, DELETE ON worker_failures TO claimflow_app;
