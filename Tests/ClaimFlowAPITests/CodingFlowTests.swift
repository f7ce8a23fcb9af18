import ClaimFlowCore
import ClaimFlowHosting
import ClaimFlowStore
import ClaimFlowTestSupport
import ClaimFlowWorkers
import Foundation
import HTTPTypes
import PostgresNIO
import Testing

@Suite("Coding over HTTP")
struct CodingFlowTests {
    @Test("saving a draft answers with the handoff findings; the handoff returns it with the same findings")
    func draftFindings() async throws {
        try await APIHarness.run { h, c in
            _ = try await CodeSetStore(client: h.fixture.client, logger: TestDatabase.logger).importFile(
                FixtureFiles.url("codes/icd10cm-older-subset-sample.txt"), kind: .icd10cm, label: "test",
                effectiveFrom: CalendarDate("2026-01-01")!, effectiveTo: nil
            )
            let (id, lease) = try await leasedCoding(h, c)
            var body: [String: Any] = [
                "lease_id": lease.uuidString, "diagnoses": ["E11"],
                "lines": [["code": "99213", "units": 1, "charge": "125.00", "pointers": [1, 2]]],
            ]
            let saved = try await c.send(.put, "/api/v1/coder/encounters/\(id)/codes", token: h.tokens[.coder], json: body)
            #expect(saved.status == 200)
            let findings = try #require(saved.json["findings"] as? [[String: Any]])
            let draftRules = findings.compactMap { $0["rule"] as? String }
            #expect(draftRules == ["diagnosis.header", "line.pointer_missing"])
            #expect(findings.first?["message"] as? String == "E11 is a category header; pick a billable code such as E119")

            // Completing with errors is allowed; the handoff check sends it back with the same list.
            let completed = try await c.send(
                .post, "/api/v1/coder/encounters/\(id)/complete", token: h.tokens[.coder], json: ["lease_id": lease.uuidString]
            )
            #expect(completed.status == 200)
            let batch = try await HandoffWorker(client: h.service, logger: TestDatabase.logger).runBatch()
            #expect(batch.returned == 1)
            let again = try await c.send(.post, "/api/v1/coder/next", token: h.tokens[.coder])
            #expect(again.uuid("encounter", "id") == id)
            let view = try #require(again.json["encounter"] as? [String: Any])
            #expect(view["stage"] as? String == "coding")
            let returned = try #require(view["findings"] as? [[String: Any]])
            #expect(returned.compactMap { $0["rule"] as? String } == draftRules)

            // Fixed, it passes the handoff and becomes a claim in the billing queue.
            body["lease_id"] = try #require(again.uuid("lease", "id")).uuidString
            body["diagnoses"] = ["E11.9", "I10"]
            let fixed = try await c.send(.put, "/api/v1/coder/encounters/\(id)/codes", token: h.tokens[.coder], json: body)
            #expect((fixed.json["findings"] as? [Any])?.isEmpty == true, "\(fixed.body)")
            _ = try await c.send(
                .post, "/api/v1/coder/encounters/\(id)/complete", token: h.tokens[.coder], json: ["lease_id": body["lease_id"]!]
            )
            #expect(try await HandoffWorker(client: h.service, logger: TestDatabase.logger).runBatch().passed == 1)
            #expect(try await h.fixture.encounters.stage(of: id) == .readyToBill)

            // On the wire: ids in lower case, money as a decimal string with two places.
            let line = try #require((fixed.json["codes"] as? [String: Any]).flatMap { ($0["lines"] as? [[String: Any]])?.first })
            #expect(line["charge"] as? String == "125.00")
            #expect(line["units"] as? Int == 1)
            #expect(fixed.json["encounter_id"] as? String == id.uuidString.lowercased())
            let pulled = try await c.send(.post, "/api/v1/biller/next", token: h.tokens[.biller])
            let claim = try #require(pulled.json["claim"] as? [String: Any], "\(pulled.body)")
            #expect(claim["total_charge"] as? String == "125.00")
            #expect(claim["encounter_id"] as? String == id.uuidString.lowercased())
            let leaseID = try #require((pulled.json["lease"] as? [String: Any])?["id"] as? String)
            #expect(leaseID == leaseID.lowercased() && UUID(uuidString: leaseID) != nil)
            // Every hot-path statement of this flow kept one text, so each ran prepared.
            #expect(Database.preparedTextMismatches == 0)
        }
    }

    @Test("provider query round trip: on hold, answered, back to the coder with the answer, audited")
    func providerQuery() async throws {
        try await APIHarness.run { h, c in
            let (id, lease) = try await leasedCoding(h, c)
            let asked = try await c.send(
                .post, "/api/v1/coder/encounters/\(id)/query", token: h.tokens[.coder],
                json: ["lease_id": lease.uuidString, "question": "Which knee was injected?"]
            )
            #expect(asked.status == 200)
            #expect(asked.json["stage"] as? String == "on_hold")
            #expect(try await h.fixture.encounters.stage(of: id) == .onHold)

            let queues = try await c.send(.get, "/api/v1/supervisor/queues", token: h.tokens[.supervisor])
            let holds = try #require(queues.json["holds"] as? [[String: Any]])
            #expect(holds.first?["on_hold"] as? Int == 1)
            #expect(holds.first?["oldest_age_seconds"] as? Int != nil)

            // Nobody can pull it while it waits.
            #expect(try await c.send(.post, "/api/v1/coder/next", token: h.tokens[.coder]).status == 204)
            let early = try await c.send(.post, "/api/v1/encounters/\(id)/answer", token: h.tokens[.coder], json: ["answer": "x"])
            #expect(early.status == 403)

            let answered = try await c.send(
                .post, "/api/v1/encounters/\(id)/answer", token: h.tokens[.intake], json: ["answer": "The right knee."]
            )
            #expect(answered.status == 200, "\(answered.body)")
            let twice = try await c.send(
                .post, "/api/v1/encounters/\(id)/answer", token: h.tokens[.supervisor], json: ["answer": "Again."]
            )
            #expect(twice.status == 409)

            // Back in the queue, offered first to the coder who asked.
            let other = try await h.fixture.user("other-coder", roles: [.coder])
            let otherToken = try await h.fixture.users.issueToken(userID: other, label: "t", audit: .system)
            #expect(try await c.send(.post, "/api/v1/coder/next", token: otherToken).status == 204)
            let back = try await c.send(.post, "/api/v1/coder/next", token: h.tokens[.coder])
            #expect(back.uuid("encounter", "id") == id)
            let queries = try #require((back.json["encounter"] as? [String: Any])?["queries"] as? [[String: Any]])
            #expect(queries.first?["question"] as? String == "Which knee was injected?")
            #expect(queries.first?["answer"] as? String == "The right knee.")

            let history = try await c.send(.get, "/api/v1/encounters/\(id)/history", token: h.tokens[.supervisor])
            let steps = try #require(history.json["events"] as? [[String: Any]]).map {
                "\($0["action"] as? String ?? "?")@\($0["actor_username"] as? String ?? "claimflow")"
            }
            #expect(steps.contains("coding.query_asked@coder"))
            #expect(steps.contains("coding.query_answered@intake"))
            #expect(steps.last == "phi.viewed@coder")
        }
    }
}
