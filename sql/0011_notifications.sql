-- Notifications on the channel every ClaimFlow process listens on (claimflow_work), besides
-- the queues' own: changes of access (payload 'auth') and encounters coded ('coded').
--
-- Each ClaimFlow process keeps the principals of recently seen tokens for a few seconds, so
-- that a request does not read the users tables again. What changes who a token stands for
-- (a token revoked or expiring, a user deactivated or given other roles, skills or practices)
-- tells every process at once, on the channel the processes already listen on, with the
-- payload 'auth': each drops what it kept and reads the database again.
CREATE FUNCTION notify_auth_changed() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('claimflow_work', 'auth');
    RETURN NULL;
END $$;

-- A token's use stamps last_used_at; that changes nobody's access and must not empty the
-- caches, so only the columns that decide access fire.
CREATE TRIGGER api_tokens_auth_changed
    AFTER UPDATE OF revoked_at, expires_at, token_hash, user_id ON api_tokens
    FOR EACH STATEMENT EXECUTE FUNCTION notify_auth_changed();
CREATE TRIGGER api_tokens_auth_removed
    AFTER DELETE ON api_tokens
    FOR EACH STATEMENT EXECUTE FUNCTION notify_auth_changed();
CREATE TRIGGER users_auth_changed
    AFTER UPDATE OR DELETE ON users
    FOR EACH STATEMENT EXECUTE FUNCTION notify_auth_changed();
CREATE TRIGGER user_practices_auth_changed
    AFTER INSERT OR UPDATE OR DELETE ON user_practices
    FOR EACH STATEMENT EXECUTE FUNCTION notify_auth_changed();

-- The handoff worker waits for coded encounters on the same channel rather than polling: an
-- encounter coded while no other waits for the check tells it. Only then: PostgreSQL
-- serialises every commit that notifies (one lock, held through the commit's flush), which
-- would make every coder's completion wait on every other's. With others already coded, the
-- worker is busy with them or finds this one on its next pass (at most its interval later).
CREATE FUNCTION notify_encounter_coded() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM encounters WHERE stage = 'coded' AND id <> NEW.id) THEN
        PERFORM pg_notify('claimflow_work', 'coded');
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER encounters_coded
    AFTER UPDATE OF stage ON encounters
    FOR EACH ROW WHEN (NEW.stage = 'coded' AND OLD.stage IS DISTINCT FROM 'coded')
    EXECUTE FUNCTION notify_encounter_coded();
