import ClaimFlowCore
import ClaimFlowHosting
import ClaimFlowStore
import ClaimFlowTestSupport
import ClaimFlowWorkers
import Foundation
import HTTPTypes
import PostgresNIO
import Testing

/// Behaviour at the edges of the role API: the supervisor's work list, long polls, claims the
/// 837P writer cannot express, a return from billing at the wrong time, and where a request
/// came from on the audit trail.
@Suite("Work control over HTTP")
struct WorkControlTests {
    @Test("the work list filters by queue, stage, assignee, practice and dates, and pages without gaps or repeats")
    func workListFiltersAndPages() async throws {
        try await APIHarness.run { h, c in
            var byDay: [Int: UUID] = [:]
            for day in 1...7 {
                var body = h.intakeBody("WL-\(day)")
                body["date_of_service"] = "2026-11-0\(day)"
                let reply = try await c.send(.post, "/api/v1/encounters", token: h.tokens[.intake], json: body)
                byDay[day] = try #require(reply.uuid("id"), "\(reply.body)")
            }
            let pulled = try await c.send(.post, "/api/v1/coder/next", token: h.tokens[.coder])
            let leased = try #require(pulled.uuid("encounter", "id"))
            let supervisor = h.tokens[.supervisor]!

            func ids(_ query: String) async throws -> [UUID] {
                let reply = try await c.send(.get, "/api/v1/supervisor/work?\(query)", token: supervisor)
                #expect(reply.status == 200, "\(query): \(reply.body)")
                let items = reply.json["items"] as? [[String: Any]] ?? []
                return items.compactMap { ($0["encounter_id"] as? String).flatMap(UUID.init(uuidString:)) }
            }
            let all = try await ids("limit=500")
            #expect(Set(all) == Set(byDay.values) && all.count == 7)
            #expect(Set(try await ids("queue=coding")) == Set(byDay.values))
            #expect(try await ids("queue=billing").isEmpty)
            #expect(try await ids("stage=coding") == [leased])
            #expect(Set(try await ids("stage=ready_to_code")) == Set(byDay.values).subtracting([leased]))
            #expect(try await ids("assignee=\(h.users[.coder]!)") == [leased])
            #expect(Set(try await ids("from=2026-11-03&to=2026-11-05")) == Set([3, 4, 5].map { byDay[$0]! }))
            #expect(Set(try await ids("practice=TEST")) == Set(byDay.values))

            // Keyset pages of 3: every item once, in the order of the whole list.
            var paged: [UUID] = []
            var after: String?
            var pages = 0
            repeat {
                let query = "limit=3" + (after.map { "&after=\($0)" } ?? "")
                let reply = try await c.send(.get, "/api/v1/supervisor/work?\(query)", token: supervisor)
                let items = reply.json["items"] as? [[String: Any]] ?? []
                #expect(items.count == (pages < 2 ? 3 : 1), "page \(pages): \(reply.body)")
                paged += items.compactMap { ($0["encounter_id"] as? String).flatMap(UUID.init(uuidString:)) }
                after = reply.json["next"] as? String
                pages += 1
            } while after != nil && pages < 10
            #expect(pages == 3)
            #expect(paged == all)

            for (query, path) in [
                ("queue=archive", "query.queue"), ("stage=lost", "query.stage"), ("assignee=someone", "query.assignee"),
                ("practice=no%20such", "query.practice"), ("from=2026-13-01", "query.from"), ("to=yesterday", "query.to"),
                ("after=garbage", "query.after"), ("limit=0", "query.limit"), ("limit=501", "query.limit"),
            ] {
                let reply = try await c.send(.get, "/api/v1/supervisor/work?\(query)", token: supervisor)
                let paths = (reply.json["findings"] as? [[String: Any]] ?? []).compactMap { $0["path"] as? String }
                #expect(reply.status == 422 && paths == [path], "\(query): \(reply.body)")
            }
            // A well-formed practice code that is not the caller's: nothing of it to see.
            let foreign = try await c.send(.get, "/api/v1/supervisor/work?practice=NOPE", token: supervisor)
            #expect(foreign.status == 200 && (foreign.json["items"] as? [Any])?.isEmpty == true, "\(foreign.body)")
        }
    }

    @Test("a supervisor's reassign, release and priority change and a biller's return each require a reason, and a blank one is none")
    func reasonsAreRequired() async throws {
        try await APIHarness.run { h, c in
            let (encounter, _) = try await leasedCoding(h, c)
            let (claim, lease) = try await leasedBilling(h, c)
            let before = try await TableSnapshot.ofWork(h.fixture.client)
            let requests: [(String, String, [String: Any])] = [
                (h.tokens[.supervisor]!, "/api/v1/supervisor/work/\(encounter)/reassign", ["to_user": h.users[.coder]!.uuidString]),
                (h.tokens[.supervisor]!, "/api/v1/supervisor/work/\(encounter)/release", [:]),
                (h.tokens[.supervisor]!, "/api/v1/supervisor/work/\(encounter)/priority", ["priority": 90]),
                (h.tokens[.biller]!, "/api/v1/biller/claims/\(claim)/return", ["lease_id": lease.uuidString]),
            ]
            for (token, uri, body) in requests {
                for reason: Any? in [nil, "", "   "] {
                    var sent = body
                    sent["reason"] = reason
                    let reply = try await c.send(.post, uri, token: token, json: sent)
                    let paths = (reply.json["findings"] as? [[String: Any]] ?? []).compactMap { $0["path"] as? String }
                    #expect(reply.status == 422 && paths == ["$.reason"], "\(uri) reason \(String(describing: reason)): \(reply.body)")
                }
            }
            #expect(try await TableSnapshot.ofWork(h.fixture.client) == before)
        }
    }

    @Test("a long poll is capped at 30 seconds, and an empty queue answers 204 once the wait is over")
    func longPollCapAndEmpty() async throws {
        try await APIHarness.run { h, c in
            for wait in ["31", "-1", "soon"] {
                let reply = try await c.send(.post, "/api/v1/coder/next?wait=\(wait)", token: h.tokens[.coder])
                let paths = (reply.json["findings"] as? [[String: Any]] ?? []).compactMap { $0["path"] as? String }
                #expect(reply.status == 422 && paths == ["query.wait"], "wait=\(wait): \(reply.body)")
            }
            let clock = ContinuousClock()
            let started = clock.now
            let empty = try await c.send(.post, "/api/v1/biller/next?wait=1", token: h.tokens[.biller])
            let waited = clock.now - started
            #expect(empty.status == 204)
            #expect(empty.body.isEmpty)
            #expect(waited >= .milliseconds(900), "answered after \(waited), before the wait was over")
            #expect(waited < .seconds(15), "answered after \(waited)")
        }
    }

    @Test("a claim the 837P writer cannot express is 422 unsubmittable at submit, and nothing changes")
    func unsubmittableClaim() async throws {
        try await APIHarness.run { h, c in
            _ = try await CodeSetStore(client: h.fixture.client, logger: TestDatabase.logger).importFile(
                FixtureFiles.url("codes/icd10cm-older-subset-sample.txt"), kind: .icd10cm, label: "test",
                effectiveFrom: CalendarDate("2026-01-01")!, effectiveTo: nil
            )
            // No address for a patient who is the subscriber: the 837P requires one (2010BA N3/N4).
            var body = h.intakeBody("NO-ADDRESS")
            var patient = body["patient"] as! [String: Any]
            patient["address"] = nil
            body["patient"] = patient
            let intake = try await c.send(.post, "/api/v1/encounters", token: h.tokens[.intake], json: body)
            let id = try #require(intake.uuid("id"), "\(intake.body)")
            let next = try await c.send(.post, "/api/v1/coder/next", token: h.tokens[.coder])
            var codes = APIHarness.codesBody()
            codes["lease_id"] = try #require(next.uuid("lease", "id")).uuidString
            #expect(try await c.send(.put, "/api/v1/coder/encounters/\(id)/codes", token: h.tokens[.coder], json: codes).status == 200)
            #expect(
                try await c.send(
                    .post, "/api/v1/coder/encounters/\(id)/complete", token: h.tokens[.coder], json: ["lease_id": codes["lease_id"]!]
                ).status == 200)
            #expect(try await HandoffWorker(client: h.service, logger: TestDatabase.logger).runBatch().passed == 1)
            let billing = try await c.send(.post, "/api/v1/biller/next", token: h.tokens[.biller])
            let claim = try #require(billing.uuid("claim", "id"))
            let lease = try #require(billing.uuid("lease", "id"))

            let before = try await TableSnapshot.ofWork(h.fixture.client)
            let submitted = try await c.send(
                .post, "/api/v1/biller/claims/\(claim)/submit", token: h.tokens[.biller], json: ["lease_id": lease.uuidString])
            #expect(submitted.status == 422, "\(submitted.body)")
            #expect(submitted.json["type"] as? String == "https://claimflow.dev/problems/unsubmittable")
            #expect((submitted.json["detail"] as? String)?.contains("address is required") == true, "\(submitted.body)")
            #expect(!submitted.body.contains("Lovelace") && !submitted.body.contains("1960"), "no PHI in the problem")
            #expect(try await TableSnapshot.ofWork(h.fixture.client) == before)
            // The lease still holds: the biller can send it back to coding to fix.
            let returned = try await c.send(
                .post, "/api/v1/biller/claims/\(claim)/return", token: h.tokens[.biller],
                json: ["lease_id": lease.uuidString, "reason": "patient address missing"]
            )
            #expect(returned.status == 200, "\(returned.body)")
        }
    }

    @Test("a biller's return after the claim was submitted is 409 wrong-stage and changes nothing")
    func returnAfterSubmit() async throws {
        try await APIHarness.run { h, c in
            let (claim, lease) = try await leasedBilling(h, c)
            let submitted = try await c.send(
                .post, "/api/v1/biller/claims/\(claim)/submit", token: h.tokens[.biller], json: ["lease_id": lease.uuidString])
            #expect(submitted.status == 200, "\(submitted.body)")
            let before = try await TableSnapshot.ofWork(h.fixture.client)
            let late = try await c.send(
                .post, "/api/v1/biller/claims/\(claim)/return", token: h.tokens[.biller],
                json: ["lease_id": lease.uuidString, "reason": "second thoughts"]
            )
            #expect(late.status == 409, "\(late.body)")
            #expect(late.json["type"] as? String == "https://claimflow.dev/problems/wrong-stage")
            #expect(try await TableSnapshot.ofWork(h.fixture.client) == before)
        }
    }

    @Test("the audit trail records the client's address for a request over a real socket")
    func clientAddressInEvents() async throws {
        try await APIHarness.run(live: true) { h, c in
            let reply = try await c.send(.post, "/api/v1/encounters", token: h.tokens[.intake], json: h.intakeBody("ADDR-1"))
            let id = try #require(reply.uuid("id"), "\(reply.body)")
            let rows = try await h.fixture.client.query(
                "SELECT action, client_address, request_id FROM events WHERE encounter_id = \(id) ORDER BY id",
                logger: TestDatabase.logger
            )
            var events: [(String, String?, String?)] = []
            for try await row in rows.decode((String, String?, String?).self) { events.append(row) }
            #expect(events.map(\.0) == ["encounter.received", "work.enqueued"])
            #expect(events.allSatisfy { $0.1 == "127.0.0.1" }, "\(events)")
            #expect(events.allSatisfy { ($0.2 ?? "").count > 0 }, "\(events)")
        }
    }
}

@Suite("Codes under the right lease")
struct CodesLeaseTests {
    @Test("saving codes with a billing lease is refused: codes change only under a coding lease")
    func billingLeaseCannotSaveCodes() async throws {
        try await APIHarness.run { h, c in
            // One person who both codes and bills holds the encounter's billing lease.
            let both = try await h.fixture.user("coder-biller", roles: [.coder, .biller])
            let token = try await h.fixture.users.issueToken(userID: both, label: "test", audit: .system)
            let claim = try await readyClaim(h)
            let pulled = try await c.send(.post, "/api/v1/biller/next", token: token)
            #expect(pulled.uuid("claim", "id") == claim, "\(pulled.body)")
            let encounter = try #require(pulled.uuid("claim", "encounter_id"))
            let lease = try #require(pulled.uuid("lease", "id"))

            let before = try await TableSnapshot.ofWork(h.fixture.client)
            var codes = APIHarness.codesBody()
            codes["lease_id"] = lease.uuidString
            codes["diagnoses"] = ["I10"]
            let saved = try await c.send(.put, "/api/v1/coder/encounters/\(encounter)/codes", token: token, json: codes)
            #expect(saved.status == 409, "\(saved.body)")
            #expect(saved.json["type"] as? String == "https://claimflow.dev/problems/stale-lease")
            #expect(try await TableSnapshot.ofWork(h.fixture.client) == before)
        }
    }
}

@Suite("The client's address behind a proxy")
struct ForwardedClientTests {
    static func addresses(_ h: APIHarness, _ c: TestClientProtocolBox, forwardedFor: String?) async throws -> [String?] {
        var headers: HTTPFields = [:]
        if let forwardedFor { headers[HTTPField.Name("X-Forwarded-For")!] = forwardedFor }
        let reply = try await c.send(
            .post, "/api/v1/encounters", token: h.tokens[.intake], json: h.intakeBody("FWD-\(UUID().uuidString.prefix(8))"),
            headers: headers
        )
        let id = try #require(reply.uuid("id"), "\(reply.body)")
        let rows = try await h.fixture.client.query(
            "SELECT client_address FROM events WHERE encounter_id = \(id) ORDER BY id", logger: TestDatabase.logger)
        var found: [String?] = []
        for try await address in rows.decode(String?.self) { found.append(address) }
        return found
    }

    @Test("from a trusted proxy, X-Forwarded-For names the client: the right-most address that is not a trusted proxy")
    func trustedProxy() async throws {
        try await APIHarness.run(live: true, trustedProxies: ["127.0.0.1", "10.0.0.2"]) { h, c in
            let seen1 = try await Self.addresses(h, c, forwardedFor: "203.0.113.7")
            #expect(seen1 == ["203.0.113.7", "203.0.113.7"])
            // Each proxy appends what it saw: left of the first untrusted hop may be forged.
            let seen2 = try await Self.addresses(h, c, forwardedFor: "198.51.100.9, 203.0.113.7, 10.0.0.2")
            #expect(seen2 == ["203.0.113.7", "203.0.113.7"])
            let seen3 = try await Self.addresses(h, c, forwardedFor: "not-an-address")
            #expect(seen3 == ["127.0.0.1", "127.0.0.1"])
            let seen4 = try await Self.addresses(h, c, forwardedFor: nil)
            #expect(seen4 == ["127.0.0.1", "127.0.0.1"])
        }
    }

    @Test("from any other peer, X-Forwarded-For is ignored: a client cannot choose the address it is audited under")
    func untrustedPeer() async throws {
        try await APIHarness.run(live: true) { h, c in
            let seen5 = try await Self.addresses(h, c, forwardedFor: "203.0.113.7")
            #expect(seen5 == ["127.0.0.1", "127.0.0.1"])
        }
    }
}
