-- Safe retries and fair share (issue 11).
--
-- An idempotency key names one holder's write: the first answer to it (status and body) is kept
-- here, written in the same transaction as the write, so a client whose answer was lost can ask
-- again with the same key and get that answer instead of a 409 for its own committed work. Keys
-- belong to a user (two users may pick the same key), remember the operation and a SHA-256
-- digest of the request (path and body) so the same key with a different request is refused,
-- and expire after a day; the lease reaper's pass deletes expired ones.
CREATE TABLE idempotency_keys (
    user_id        uuid NOT NULL REFERENCES users (id),
    key            text NOT NULL CHECK (key ~ '^[!-~]{1,200}$'),
    operation      text NOT NULL CHECK (length(operation) BETWEEN 1 AND 200),
    request_digest bytea NOT NULL CHECK (length(request_digest) = 32),
    -- NULL only inside the transaction that is making the answer; never seen committed.
    status         smallint CHECK (status BETWEEN 100 AND 599),
    response       bytea,
    created_at     timestamptz NOT NULL DEFAULT now(),
    expires_at     timestamptz NOT NULL,
    PRIMARY KEY (user_id, key)
);
CREATE INDEX idempotency_keys_expiry ON idempotency_keys (expires_at);

-- Fair share: how many live leases of one queue a person may hold in this practice at once.
-- A pull at the cap answers with the work already held instead of leasing more.
ALTER TABLE practices
    ADD COLUMN lease_cap integer NOT NULL DEFAULT 1 CHECK (lease_cap BETWEEN 1 AND 1000);
