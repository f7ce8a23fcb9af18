import ClaimFlowCore
import ClaimFlowStore
import ClaimFlowTestSupport
import Foundation
import PostgresNIO
import Testing

@Suite("The hot path's prepared statements and kept principals on a real PostgreSQL")
struct HotPathTests {
    /// The names of the statements prepared on the client's one connection.
    static func prepared(on client: PostgresClient) async throws -> Set<String> {
        var names: Set<String> = []
        let rows = try await client.query("SELECT name FROM pg_prepared_statements", logger: TestDatabase.logger)
        for try await name in rows.decode(String.self) { names.insert(name) }
        return names
    }

    @Test(
        "prepared statements on: pull, heartbeat and complete run as named statements, reused; off: nothing is prepared, and the same work is done",
        arguments: [true, false])
    func preparedOrNot(_ prepared: Bool) async throws {
        try await TestDatabase.withMigrated { setupClient, url in
            let fixture = try await Fixture.make(setupClient)
            _ = try await fixture.receiveMany(3)
            let coder = try await fixture.user("coder")
            // One connection, so what it has prepared can be read on it: straight to the server
            // when the suite runs through PgBouncer 1.18, which cannot carry prepared statements.
            let session = prepared ? try TestDatabase.directURL(for: url) : url
            try await TestDatabase.withClient(session, maximumConnections: 1) { client in
                var database = Database(client: client, logger: TestDatabase.logger)
                database.preparedStatements = prepared
                let queue = WorkQueue(database: database)
                // Audit contexts with and without an actor, address and request id: the texts
                // must not vary with them (each name stands for one text).
                let audits = [
                    AuditContext.system, AuditContext(actorID: coder, clientAddress: "192.0.2.7", requestID: "req-1"),
                    AuditContext(actorID: coder),
                ]
                for audit in audits {
                    let lease = try #require(try await queue.pullNext(userID: coder, queue: .coding, audit: audit))
                    _ = try await queue.heartbeat(encounterID: lease.encounterID, leaseID: lease.id, holder: coder)
                    try await queue.finish(
                        encounterID: lease.encounterID, leaseID: lease.id, holder: coder, queue: .coding, to: .coded,
                        action: "coding.completed", audit: audit)
                }
                #expect(try await queue.pullNext(userID: coder, queue: .coding, audit: .system) == nil)
                #expect(Database.preparedTextMismatches == 0)
                let names = try await Self.prepared(on: client)
                if prepared {
                    for name in [
                        "claimflow_PullLease", "claimflow_PullHeld", "claimflow_Heartbeat", "claimflow_Finish",
                    ] {
                        #expect(names.contains(name), "\(name) among \(names.sorted())")
                    }
                } else {
                    #expect(names.isEmpty, "prepared: \(names.sorted())")
                }
            }
            #expect(try await fixture.count("SELECT count(*)::int FROM encounters WHERE stage = 'coded'") == 3)
            #expect(try await fixture.count("SELECT count(*)::int FROM events WHERE action = 'coding.completed'") == 3)
            #expect(try await fixture.count("SELECT count(*)::int FROM events WHERE action = 'work.pulled'") == 3)
        }
    }

    @Test(
        "a kept principal is dropped by the database's notification: a token revoked, a user deactivated or moved out of a practice, by any process, stops counting at once"
    )
    func keptPrincipalsFollowTheDatabase() async throws {
        try await TestDatabase.withMigrated { client, url in
            let fixture = try await Fixture.make(client)
            let coder = try await fixture.user("coder")
            let signals = WorkSignals()
            let users = UserStore(database: Database(client: client, logger: TestDatabase.logger), principals: signals.principals)
            let token = try await users.issueToken(userID: coder, label: "kept", audit: .system)
            let other = try await users.issueToken(userID: coder, label: "other", audit: .system)

            // Without a listener nothing is kept: each lookup reads the database.
            #expect(try await users.principal(forToken: token)?.userID == coder)
            #expect(!signals.principals.isEnabled)

            let listener = Task {
                try await TestDatabase.withListenClient(url, sharing: client) { listening in
                    try await WorkNotifier(client: listening, signals: signals, logger: TestDatabase.logger).run()
                }
            }
            defer { listener.cancel() }
            try await withDeadline(.seconds(10), "the change to be seen") {
                while !(await signals.isListening) { try await Task.sleep(for: .milliseconds(20)) }
            }
            #expect(signals.principals.isEnabled)
            #expect(try await users.principal(forToken: token)?.practiceIDs == [fixture.practiceID])

            // Kept: a change the database makes without this process's store (another
            // replica's, or an operator's) is seen once its notification arrives.
            try await client.query(
                "UPDATE api_tokens SET revoked_at = now() WHERE label = 'kept'", logger: TestDatabase.logger)
            try await withDeadline(.seconds(10), "the change to be seen") {
                while try await users.principal(forToken: token) != nil { try await Task.sleep(for: .milliseconds(20)) }
            }

            #expect(try await users.principal(forToken: other)?.userID == coder)
            try await client.query(
                "DELETE FROM user_practices WHERE user_id = \(coder)", logger: TestDatabase.logger)
            try await withDeadline(.seconds(10), "the change to be seen") {
                while try await users.principal(forToken: other)?.practiceIDs != [] { try await Task.sleep(for: .milliseconds(20)) }
            }
            try await client.query("UPDATE users SET active = false WHERE id = \(coder)", logger: TestDatabase.logger)
            try await withDeadline(.seconds(10), "the change to be seen") {
                while try await users.principal(forToken: other) != nil { try await Task.sleep(for: .milliseconds(20)) }
            }

            // A revocation through the store counts on the very next lookup, before any notification.
            try await client.query("UPDATE users SET active = true WHERE id = \(coder)", logger: TestDatabase.logger)
            let third = try await users.issueToken(userID: coder, label: "third", audit: .system)
            try await withDeadline(.seconds(10), "the change to be seen") {
                while try await users.principal(forToken: third) == nil { try await Task.sleep(for: .milliseconds(20)) }
            }
            _ = try await users.revokeTokens(userID: coder, label: "third", audit: .system)
            #expect(try await users.principal(forToken: third) == nil)

            // A token's use (last_used_at) is no change of access: it notifies nothing, while a
            // change of access does.
            let heard = try await TestDatabase.withClient(try TestDatabase.directURL(for: url), maximumConnections: 1) { listening in
                try await listening.withConnection { connection in
                    try await connection.listen(on: WorkNotifier.channel) { notifications in
                        try await client.query(
                            "UPDATE api_tokens SET last_used_at = now() - interval '2 minutes'", logger: TestDatabase.logger)
                        try await client.query("SELECT pg_notify(\(WorkNotifier.channel), 'marker')", logger: TestDatabase.logger)
                        try await client.query(
                            "UPDATE api_tokens SET expires_at = now() + interval '1 day' WHERE label = 'third'",
                            logger: TestDatabase.logger)
                        var payloads: [String] = []
                        for try await notification in notifications {
                            payloads.append(notification.payload)
                            if payloads.count == 2 { break }
                        }
                        return payloads
                    }
                }
            }
            #expect(heard == ["marker", "auth"])
        }
    }

    @Test("a lookup that read the database before a change does not keep what it read")
    func staleLookupsAreNotKept() async throws {
        try await TestDatabase.withMigrated { client, _ in
            let fixture = try await Fixture.make(client)
            let coder = try await fixture.user("coder")
            let cache = PrincipalCache()
            cache.setEnabled(true)
            let users = UserStore(database: Database(client: client, logger: TestDatabase.logger), principals: cache)
            let token = try await users.issueToken(userID: coder, label: "t", audit: .system)
            #expect(try await users.principal(forToken: token) != nil)
            // Kept now: a change behind the cache's back (no listener here) is not seen ...
            try await client.query("UPDATE api_tokens SET revoked_at = now()", logger: TestDatabase.logger)
            #expect(try await users.principal(forToken: token) != nil)
            // ... until the cache is told.
            cache.invalidateAll()
            #expect(try await users.principal(forToken: token) == nil)
            // Turned off, nothing is kept at all.
            try await client.query("UPDATE api_tokens SET revoked_at = NULL", logger: TestDatabase.logger)
            cache.setEnabled(false)
            #expect(try await users.principal(forToken: token) != nil)
            try await client.query("UPDATE api_tokens SET revoked_at = now()", logger: TestDatabase.logger)
            #expect(try await users.principal(forToken: token) == nil)
        }
    }

    @Test(
        "saving codes in one statement: a second save replaces the first exactly (fewer lines and diagnoses, other values), and a stale lease writes nothing"
    )
    func savingCodesReplacesThem() async throws {
        try await TestDatabase.withMigrated { client, _ in
            let fixture = try await Fixture.make(client)
            let coder = try await fixture.user("coder")
            let id = try await fixture.receive("SAVE-1")
            let lease = try await fixture.queue.reassign(encounterID: id, to: coder, reason: "test", audit: .system)
            let coding = CodingStore(client: client, logger: TestDatabase.logger, queue: fixture.queue)
            let first = CodeAssignment(
                diagnoses: ["E119", "I10", "J45909"],
                lines: [
                    ServiceLine(code: "99214", modifiers: ["25"], units: 1, charge: Decimal(string: "150.00")!, pointers: [1, 2]),
                    ServiceLine(code: "93000", units: 1, charge: Decimal(string: "40.00")!, pointers: [2]),
                    ServiceLine(code: "94010", units: 1, charge: Decimal(string: "60.00")!, pointers: [3]),
                ])
            let draft = try await coding.saveDraft(encounterID: id, leaseID: lease.id, holder: coder, codes: first, audit: .system)
            #expect(draft.codes == first && draft.billingProviderNPI.count == 10)
            #expect(try await coding.codes(of: id, version: 1) == first)
            let second = CodeAssignment(
                diagnoses: ["I10"],
                lines: [
                    ServiceLine(
                        code: "99213", modifiers: ["59", "XU"], units: Decimal(string: "1.5")!, charge: Decimal(string: "125.37")!,
                        pointers: [1])
                ])
            try await coding.saveDraft(encounterID: id, leaseID: lease.id, holder: coder, codes: second, audit: .system)
            #expect(try await coding.codes(of: id, version: 1) == second)
            #expect(try await fixture.count("SELECT count(*)::int FROM work_items WHERE encounter_id = \(id) AND charges = 125.37") == 1)

            // The lease alone is not enough when the caller's practices are given: a holder
            // no longer in the encounter's practice writes nothing and completes nothing.
            let elsewhere: Set<UUID> = [UUID()]
            await #expect(throws: StoreError.self) {
                try await coding.saveDraft(
                    encounterID: id, leaseID: lease.id, holder: coder, codes: first, audit: .system, within: elsewhere)
            }
            await #expect(throws: StoreError.self) {
                try await fixture.queue.finish(
                    encounterID: id, leaseID: lease.id, holder: coder, queue: .coding, to: .coded, action: "coding.completed",
                    audit: .system, within: elsewhere)
            }
            #expect(try await coding.codes(of: id, version: 1) == second)
            #expect(try await fixture.encounters.stage(of: id) == .coding)
            #expect(try await fixture.count("SELECT count(*)::int FROM events WHERE encounter_id = \(id) AND action = 'codes.saved'") == 2)

            // Under a lease that is no longer live, nothing is written and the refusal says why.
            try await fixture.queue.releaseLease(encounterID: id, reason: "test", audit: .system)
            await #expect(throws: StoreError.self) {
                try await coding.saveDraft(encounterID: id, leaseID: lease.id, holder: coder, codes: first, audit: .system)
            }
            #expect(try await coding.codes(of: id, version: 1) == second)
            #expect(try await fixture.count("SELECT count(*)::int FROM events WHERE encounter_id = \(id) AND action = 'codes.saved'") == 2)
        }
    }
}
