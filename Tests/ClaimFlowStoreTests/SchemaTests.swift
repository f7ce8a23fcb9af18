import ClaimFlowCore
import ClaimFlowStore
import ClaimFlowTestSupport
import Foundation
import PostgresNIO
import Testing

@Suite("Schema and stage rules on a real PostgreSQL")
struct SchemaTests {
    @Test("the store refuses a transition that is not in the table, and changes nothing")
    func storeRefusesIllegalTransition() async throws {
        try await TestDatabase.withMigrated { client, _ in
            let fixture = try await Fixture.make(client)
            let id = try await fixture.receive("E1")
            let error = await #expect(throws: StoreError.self) {
                try await fixture.encounters.move(id, from: .readyToCode, to: .paid, action: "claim.paid", audit: .system)
            }
            #expect(error?.code == .illegalTransition)
            #expect(try await fixture.encounters.stage(of: id) == .readyToCode)
            #expect(try await fixture.count("SELECT count(*)::int FROM events WHERE action = 'claim.paid'") == 0)
        }
    }

    @Test("the database itself refuses an illegal move made around the store")
    func databaseRefusesIllegalTransition() async throws {
        try await TestDatabase.withMigrated { client, _ in
            let fixture = try await Fixture.make(client)
            let id = try await fixture.receive("E1")
            let error = await #expect(throws: PSQLError.self) {
                try await client.query("UPDATE encounters SET stage = 'paid' WHERE id = \(id)", logger: TestDatabase.logger)
            }
            #expect(error?.serverInfo?[.sqlState] == "23514")
            #expect(try await fixture.encounters.stage(of: id) == .readyToCode)
        }
    }

    @Test("the database rejects an unknown stage value")
    func databaseRejectsUnknownStage() async throws {
        try await TestDatabase.withMigrated { client, _ in
            let fixture = try await Fixture.make(client)
            let id = try await fixture.receive("E1")
            let error = await #expect(throws: PSQLError.self) {
                try await client.query(
                    """
                    INSERT INTO encounters (practice_id, external_id, patient_id, date_of_service, place_of_service,
                                            specialty, stage, documentation)
                    SELECT practice_id, 'E2', patient_id, date_of_service, place_of_service, specialty,
                           'lost_in_the_mail', ''
                    FROM encounters WHERE id = \(id)
                    """,
                    logger: TestDatabase.logger
                )
            }
            #expect(error?.serverInfo?[.sqlState] == "23514")
            #expect(error?.serverInfo?[.constraintName] == "encounters_stage_check")
            #expect(try await fixture.count("SELECT count(*)::int FROM encounters") == 1)
        }
    }

    @Test("the stage table in the database is ClaimFlowCore's table")
    func stageTableMatchesCore() async throws {
        try await TestDatabase.withMigrated { client, _ in
            let rows = try await client.query("SELECT from_stage, to_stage FROM stage_transitions", logger: TestDatabase.logger)
            var stored: Set<StageTransition> = []
            for try await (from, to) in rows.decode((String, String).self) {
                stored.insert(StageTransition(from: try #require(Stage(rawValue: from)), to: try #require(Stage(rawValue: to))))
            }
            #expect(stored == StageTransitions.allowed)
        }
    }

    @Test("events are append-only")
    func eventsAreAppendOnly() async throws {
        try await TestDatabase.withMigrated { client, _ in
            let fixture = try await Fixture.make(client)
            _ = try await fixture.receive("E1")
            await #expect(throws: PSQLError.self) {
                try await client.query("UPDATE events SET action = 'tampered'", logger: TestDatabase.logger)
            }
            await #expect(throws: PSQLError.self) {
                try await client.query("DELETE FROM events", logger: TestDatabase.logger)
            }
            #expect(try await fixture.count("SELECT count(*)::int FROM events WHERE action = 'tampered'") == 0)
        }
    }

    @Test("intake is idempotent on the external id; a changed body is a conflict")
    func intakeIdempotency() async throws {
        try await TestDatabase.withMigrated { client, _ in
            let fixture = try await Fixture.make(client)
            let first = try await fixture.encounters.receive(fixture.intake("X1"), audit: .system)
            let again = try await fixture.encounters.receive(fixture.intake("X1"), audit: .system)
            #expect(first.created && !again.created)
            #expect(first.encounterID == again.encounterID)
            let error = await #expect(throws: StoreError.self) {
                _ = try await fixture.encounters.receive(fixture.intake("X1", priority: 9), audit: .system)
            }
            #expect(error?.code == .conflict)
            #expect(try await fixture.count("SELECT count(*)::int FROM work_items") == 1)
        }
    }

    @Test("migrating again applies nothing; an edited migration is refused")
    func migrationsAreRecorded() async throws {
        try await TestDatabase.withMigrated { (client: PostgresClient, _: DatabaseURL) async throws in
            let migrator = Migrator(client: client, logger: TestDatabase.logger)
            #expect(try await migrator.migrate().isEmpty)
            #expect(try await migrator.isCurrent())
            let edited = Migration.all.map { Migration(version: $0.version, name: $0.name, sql: $0.sql + "\n-- edit") }
            await #expect(throws: MigrationError.self) {
                try await Migrator(client: client, logger: TestDatabase.logger, migrations: edited).migrate()
            }
        }
    }

    @Test(
        "a connection running as claimflow_app (as PgBouncer's connect_query leaves it) migrates a fresh database as its login user, and is claimflow_app again after each migration"
    )
    func migratesFromTheServiceRole() async throws {
        // Migrated once as the owner first, so that the role exists in the cluster.
        try await TestDatabase.withMigrated { _, _ in }
        let url = try await TestDatabase.create()
        defer { Task { try? await TestDatabase.drop(url) } }
        try await TestDatabase.withClient(url, maximumConnections: 1, role: DatabaseURL.serviceRole) { service in
            let user = { @Sendable in
                try await service.query("SELECT current_user::text", logger: TestDatabase.logger).collect().first?.decode(String.self)
            }
            #expect(try await user() == DatabaseURL.serviceRole)
            let applied = try await Migrator(client: service, logger: TestDatabase.logger).migrate()
            #expect(applied.map(\.version) == Migration.all.map(\.version))
            #expect(try await user() == DatabaseURL.serviceRole, "the owner's role lasted only as long as each migration")
            // The schema belongs to the login user, not to the service role.
            let owner = try await service.query(
                "SELECT tableowner::text FROM pg_tables WHERE tablename = 'events'", logger: TestDatabase.logger
            ).collect().first?.decode(String.self)
            #expect(owner != nil && owner != DatabaseURL.serviceRole)
            // And the service role is still refused what only the owner may do.
            await #expect(throws: PSQLError.self) {
                try await service.query("DELETE FROM events", logger: TestDatabase.logger)
            }
        }
    }
}
