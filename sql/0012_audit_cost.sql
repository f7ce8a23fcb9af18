-- Every state change writes an audit event, so each event's cost is paid on the hot path:
-- an insert keeps only what a query needs.
--
-- Foreign keys: an event's encounter, practice and actor ids are written by ClaimFlow from
-- the rows of the very statement that makes the change, and nothing deletes encounters,
-- practices or users (users are deactivated). The three foreign-key checks (a trigger and an
-- index probe each, on every event) guard nothing, and the trail must outlive any row anyway.
ALTER TABLE events DROP CONSTRAINT events_encounter_id_fkey;
ALTER TABLE events DROP CONSTRAINT events_practice_id_fkey;
ALTER TABLE events DROP CONSTRAINT events_actor_id_fkey;

-- Indexes kept, each for the queries that read it:
--   events_pkey         the trail's order;
--   events_encounter    an encounter's history, and the productivity report's "returned" check;
--   events_lease        a replayed finish (WorkQueue.alreadyFinished) and handle times;
--   events_action_time  the productivity report's completions and submissions by day.
-- No query reads events by actor first: the productivity report filters by action and time.
DROP INDEX events_actor;
