-- The role the service's connections run as (`SET ROLE` at connect), so that the
-- application holds only the privileges it needs: it may add audit events but never
-- change or remove one, and may not touch the schema's bookkeeping.
--
-- Roles belong to the whole cluster, so creation tolerates a concurrent migrator of
-- another database on the same server having just made it.
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'claimflow_app') THEN
        CREATE ROLE claimflow_app NOLOGIN;
    END IF;
EXCEPTION WHEN duplicate_object OR unique_violation THEN
    NULL;
END $$;

-- The migrating user (the schema's owner) must be able to SET ROLE to it.
DO $$
BEGIN
    IF NOT pg_has_role(current_user, 'claimflow_app', 'MEMBER') THEN
        EXECUTE format('GRANT claimflow_app TO %I', current_user);
    END IF;
END $$;

GRANT USAGE ON SCHEMA public TO claimflow_app;
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO claimflow_app;
GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO claimflow_app;
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO claimflow_app;
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT USAGE, SELECT ON SEQUENCES TO claimflow_app;

-- Audit events are append-only for the service (the trigger also refuses everyone else).
REVOKE UPDATE, DELETE, TRUNCATE ON events FROM claimflow_app;
-- Schema bookkeeping is the migrator's alone.
REVOKE INSERT, UPDATE, DELETE, TRUNCATE ON schema_migrations, stage_transitions FROM claimflow_app;
