-- The practices where a puller is under their fair share of a queue (practices.lease_cap
-- live leases), counted after taking the transaction-level advisory lock on (queue, puller).
--
-- Called from the pull statement itself, so a pull is one statement and one round trip.
-- The lock makes concurrent pulls by one person take turns; the count must see the lease the
-- previous turn committed, which the calling statement's snapshot (taken before it waited)
-- cannot: a VOLATILE function's queries each take a fresh snapshot, so this count does.
-- Pulls by different people do not wait on each other (beyond a hash collision).
CREATE FUNCTION work_practices_under_cap(puller uuid, work_queue text) RETURNS uuid[]
LANGUAGE plpgsql VOLATILE AS $$
BEGIN
    PERFORM pg_advisory_xact_lock(hashtext('claimflow.pull.' || work_queue), hashtext(puller::text));
    RETURN ARRAY(
        SELECT up.practice_id
        FROM user_practices up JOIN practices pr ON pr.id = up.practice_id
        WHERE up.user_id = puller
          AND (SELECT count(*) FROM work_items h
               WHERE h.lease_holder = puller AND h.queue = work_queue
                 AND h.practice_id = up.practice_id AND h.lease_expires_at > now()) < pr.lease_cap
    );
END $$;
