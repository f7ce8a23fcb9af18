import ClaimFlowCore
import ClaimFlowStore
import ClaimFlowTestSupport
import Foundation
import HTTPTypes
import PostgresNIO
import Testing

@Suite("End to end over real HTTP")
struct EndToEndTests {
    @Test("intake 100, 8 coders drain the queue, a reassignment, a biller submits; the history shows every step")
    func coderBillerRoundTrip() async throws {
        try await APIHarness.run(live: true, maximumConnections: 30) { h, c in
            let intake = h.tokens[.intake]!
            for index in 1...100 {
                let reply = try await c.send(.post, "/api/v1/encounters", token: intake, json: h.intakeBody("E2E-\(index)"))
                #expect(reply.status == 201)
            }

            // The encounter that will be reassigned: held by a coder who then loses it.
            var coderTokens: [String] = []
            var coderIDs: [UUID] = []
            for index in 0..<9 {
                let id = try await h.fixture.user("e2e-coder-\(index)", roles: [.coder])
                coderIDs.append(id)
                coderTokens.append(try await h.fixture.users.issueToken(userID: id, label: "e2e", audit: .system))
            }
            let held = try await c.send(.post, "/api/v1/coder/next", token: coderTokens[8])
            let heldEncounter = try #require(held.uuid("encounter", "id"))
            let heldLease = try #require(held.uuid("lease", "id"))
            // Minimum necessary: exactly these keys, so a new field with PHI fails here first.
            let coderView = try #require(held.json["encounter"] as? [String: Any])
            #expect(
                Set(coderView.keys) == [
                    "id", "external_id", "practice_code", "stage", "version", "date_of_service", "place_of_service", "specialty",
                    "priority", "patient_age", "patient_sex", "rendering_provider", "documentation", "codes", "queries", "findings",
                ])
            #expect(coderView["patient_age"] as? Int == 65)
            #expect(Set((coderView["codes"] as? [String: Any] ?? [:]).keys) == ["diagnoses", "lines"])
            #expect(!held.body.contains("Lovelace") && !held.body.contains("MEM-"), "a coder sees no names or member ids")

            let drained = try await withThrowingTaskGroup(of: [UUID].self) { group in
                for token in coderTokens.prefix(8) {
                    group.addTask {
                        var mine: [UUID] = []
                        while true {
                            let next = try await c.send(.post, "/api/v1/coder/next", token: token)
                            if next.status == 204 { return mine }
                            #expect(next.status == 200)
                            let id = try #require(next.uuid("encounter", "id"))
                            let lease = try #require(next.uuid("lease", "id"))
                            var codes = APIHarness.codesBody()
                            codes["lease_id"] = lease.uuidString
                            let saved = try await c.send(.put, "/api/v1/coder/encounters/\(id)/codes", token: token, json: codes)
                            #expect(saved.status == 200, "\(saved.body)")
                            let done = try await c.send(
                                .post, "/api/v1/coder/encounters/\(id)/complete", token: token, json: ["lease_id": lease.uuidString]
                            )
                            #expect(done.status == 200, "\(done.body)")
                            mine.append(id)
                        }
                    }
                }
                var all: [UUID] = []
                for try await batch in group { all += batch }
                return all
            }
            #expect(drained.count == 99)
            #expect(Set(drained).count == 99, "each encounter coded exactly once")
            #expect(!drained.contains(heldEncounter))

            let reassigned = try await c.send(
                .post, "/api/v1/supervisor/work/\(heldEncounter)/reassign", token: h.tokens[.supervisor],
                json: ["to_user": coderIDs[0].uuidString, "reason": "coder 8 is out"]
            )
            #expect(reassigned.status == 200, "\(reassigned.body)")
            let newLease = try #require(reassigned.uuid("lease", "id"))
            let stale = try await c.send(
                .post, "/api/v1/coder/encounters/\(heldEncounter)/complete", token: coderTokens[8],
                json: ["lease_id": heldLease.uuidString]
            )
            #expect(stale.status == 409)
            #expect(stale.json["type"] as? String == "https://claimflow.dev/problems/stale-lease")
            var codes = APIHarness.codesBody()
            codes["lease_id"] = newLease.uuidString
            #expect(
                try await c.send(.put, "/api/v1/coder/encounters/\(heldEncounter)/codes", token: coderTokens[0], json: codes).status == 200)
            let completed = try await c.send(
                .post, "/api/v1/coder/encounters/\(heldEncounter)/complete", token: coderTokens[0],
                json: ["lease_id": newLease.uuidString]
            )
            #expect(completed.status == 200)
            #expect(try await h.fixture.count("SELECT count(*)::int FROM encounters WHERE stage = 'coded'") == 100)

            // Until the handoff worker exists, the store's handoff call moves it to billing.
            try await ClaimStore(client: h.fixture.client, logger: TestDatabase.logger, queue: h.fixture.queue)
                .handOff(encounterID: heldEncounter, audit: .system)
            let billed = try await c.send(.post, "/api/v1/biller/next", token: h.tokens[.biller])
            #expect(billed.status == 200)
            #expect(billed.uuid("claim", "encounter_id") == heldEncounter)
            #expect(!billed.body.contains("Follow-up, type 2 diabetes"), "a biller sees no documentation")
            let billerView = try #require(billed.json["claim"] as? [String: Any])
            #expect(
                Set(billerView.keys) == [
                    "id", "encounter_id", "version", "frequency_code", "status", "stage", "total_charge", "practice",
                    "rendering_provider_npi", "rendering_provider_name", "payer_code", "payer_name", "member_id", "relationship",
                    "subscriber", "patient", "date_of_service", "place_of_service", "codes",
                ])
            for party in ["patient", "subscriber"] {
                let keys = Set((billerView[party] as? [String: Any] ?? [:]).keys)
                #expect(keys == ["first_name", "last_name", "birth_date", "sex", "address"], "\(party): \(keys)")
            }
            let claimID = try #require(billed.uuid("claim", "id"))
            let billingLease = try #require(billed.uuid("lease", "id"))
            let submitted = try await c.send(
                .post, "/api/v1/biller/claims/\(claimID)/submit", token: h.tokens[.biller], json: ["lease_id": billingLease.uuidString]
            )
            #expect(submitted.status == 200, "\(submitted.body)")

            let history = try await c.send(.get, "/api/v1/encounters/\(heldEncounter)/history", token: h.tokens[.supervisor])
            #expect(history.status == 200)
            let events = try #require(history.json["events"] as? [[String: Any]])
            let steps = events.map { "\($0["action"] as? String ?? "?")@\($0["actor_username"] as? String ?? "claimflow")" }
            let expected = [
                "encounter.received@intake", "work.enqueued@intake", "work.pulled@e2e-coder-8", "phi.viewed@e2e-coder-8",
                "work.reassigned@supervisor", "codes.saved@e2e-coder-0", "coding.completed@e2e-coder-0",
                "handoff.passed@claimflow", "work.pulled@biller", "phi.viewed@biller", "claim.submitted@biller",
            ]
            #expect(steps == expected)
            #expect(events.allSatisfy { ($0["request_id"] as? String) != nil || ($0["actor_username"] == nil) })
        }
    }
}

@Suite("Audit trail")
struct AuditTests {
    @Test("the service's own connection can neither UPDATE nor DELETE an event")
    func eventsAreAppendOnlyForTheService() async throws {
        try await APIHarness.run { h, _ in
            _ = try await h.fixture.receive("A-1")
            let update = await #expect(throws: PSQLError.self) {
                try await h.service.query("UPDATE events SET action = 'tampered'", logger: TestDatabase.logger)
            }
            #expect(update?.serverInfo?[.sqlState] == "42501")
            let delete = await #expect(throws: PSQLError.self) {
                try await h.service.query("DELETE FROM events", logger: TestDatabase.logger)
            }
            #expect(delete?.serverInfo?[.sqlState] == "42501")
            let truncate = await #expect(throws: PSQLError.self) {
                try await h.service.query("TRUNCATE events", logger: TestDatabase.logger)
            }
            #expect(truncate?.serverInfo?[.sqlState] == "42501")
            // The service may still append.
            try await h.service.query(
                "INSERT INTO events (action, detail) VALUES ('test.appended', '{}')", logger: TestDatabase.logger
            )
            #expect(try await h.fixture.count("SELECT count(*)::int FROM events WHERE action = 'tampered'") == 0)
            #expect(try await h.fixture.count("SELECT count(*)::int FROM events WHERE action = 'work.enqueued'") == 1)
        }
    }

    @Test("even the owner's connection cannot UPDATE, DELETE or TRUNCATE an event: a trigger refuses")
    func eventsAreAppendOnlyForTheOwner() async throws {
        try await APIHarness.run { h, _ in
            _ = try await h.fixture.receive("A-2")
            let before = try await h.fixture.count("SELECT count(*)::int FROM events")
            #expect(before > 0)
            for statement: PostgresQuery in ["UPDATE events SET action = 'tampered'", "DELETE FROM events", "TRUNCATE events"] {
                let error = await #expect(throws: PSQLError.self) {
                    try await h.fixture.client.query(statement, logger: TestDatabase.logger)
                }
                // Raised by the append-only trigger (the owner holds every privilege), by its own message.
                #expect(error?.serverInfo?[.sqlState] == "42501", "\(statement.sql): \(String(reflecting: error))")
                #expect(error?.serverInfo?[.message]?.contains("append-only") == true, "\(statement.sql)")
            }
            #expect(try await h.fixture.count("SELECT count(*)::int FROM events") == before)
        }
    }
}
