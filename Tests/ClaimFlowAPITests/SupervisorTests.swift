import ClaimFlowAPI
import ClaimFlowCore
import ClaimFlowHosting
import ClaimFlowStore
import ClaimFlowTestSupport
import ClaimFlowWorkers
import Foundation
import HTTPTypes
import PostgresNIO
import Testing

@Suite("Supervisor figures")
struct SupervisorTests {
    static func daysAgo(_ days: Int) -> String {
        let date = Date().addingTimeInterval(-Double(days) * 86_400)
        let parts = Calendar(identifier: .gregorian).dateComponents(in: TimeZone(identifier: "UTC")!, from: date)
        return CalendarDate(year: parts.year!, month: parts.month!, day: parts.day!)!.description
    }

    @Test("the queue view: depth, leases, returns, aging, DNFB dollars, filing limits and holds, each number checked")
    func queueFigures() async throws {
        try await APIHarness.run { h, c in
            // The harness payer allows 365 days; a second payer allows only 40.
            let strict = try await PracticeStore(client: h.fixture.client, logger: TestDatabase.logger)
                .upsert(Payer(payerCode: "STRICT", name: "Strict Payer", filingLimitDays: 40), audit: .system)
            _ = strict
            let ages = [0, 1, 2, 5, 9, 20, 20]
            for (index, age) in ages.enumerated() {
                var body = h.intakeBody("Q-\(index)")
                body["date_of_service"] = Self.daysAgo(age)
                if age == 20 && index == 6 { body["coverage"] = ["payer_code": "STRICT", "member_id": "MEM-Q6", "relationship": "18"] }
                #expect(try await c.send(.post, "/api/v1/encounters", token: h.tokens[.intake], json: body).status == 201)
            }
            // Two leased, one with codes worth 125.00 + 40.50; one on hold.
            let first = try await c.send(.post, "/api/v1/coder/next", token: h.tokens[.coder])
            let id = try #require(first.uuid("encounter", "id"))
            var codes = APIHarness.codesBody()
            codes["lease_id"] = try #require(first.uuid("lease", "id")).uuidString
            codes["lines"] = [
                ["code": "99213", "units": 1, "charge": "125.00", "pointers": [1]],
                ["code": "36415", "units": 1, "charge": "40.50", "pointers": [1]],
            ]
            #expect(try await c.send(.put, "/api/v1/coder/encounters/\(id)/codes", token: h.tokens[.coder], json: codes).status == 200)
            // Two more coders, one encounter each: a coder holds one lease at a time (fair share).
            var others: [String] = []
            for name in ["second-coder", "third-coder"] {
                let user = try await h.fixture.user(name)
                others.append(try await h.fixture.users.issueToken(userID: user, label: "test", audit: .system))
            }
            let second = try await c.send(.post, "/api/v1/coder/next", token: others[0])
            let third = try await c.send(.post, "/api/v1/coder/next", token: others[1])
            let held = try #require(third.uuid("encounter", "id"))
            let asked = try await c.send(
                .post, "/api/v1/coder/encounters/\(held)/query", token: others[1],
                json: ["lease_id": try #require(third.uuid("lease", "id")).uuidString, "question": "Which side?"]
            )
            #expect(asked.status == 200 && second.status == 200)

            let reply = try await c.send(.get, "/api/v1/supervisor/queues", token: h.tokens[.supervisor])
            let queues = try #require(reply.json["queues"] as? [[String: Any]])
            #expect(queues.count == 1)
            let coding = try #require(queues.first)
            #expect(coding["queue"] as? String == "coding")
            #expect(coding["practice_code"] as? String == "TEST")
            #expect(coding["waiting"] as? Int == 4)
            #expect(coding["leased"] as? Int == 2)
            #expect(coding["returned"] as? Int == 0)
            #expect((coding["oldest_age_seconds"] as? Int).map { $0 >= 0 && $0 < 600 } == true)
            let aging = try #require(coding["aging"] as? [String: Int])
            // Six in the queue (one is on hold): pulled first were the oldest dates? No: by priority then age
            // of queueing, so the first three intakes (0, 1, 2 days) were pulled; the hold was the 2-day one.
            #expect(aging == ["0-1": 2, "2-3": 0, "4-7": 1, "8-14": 1, "15+": 2])
            // Money is a decimal string, never a binary floating-point number.
            #expect(coding["dnfb_charges"] as? String == "165.50")
            #expect(coding["near_filing_limit"] as? Int == 1)
            let holds = try #require(reply.json["holds"] as? [[String: Any]])
            #expect(holds.count == 1 && holds.first?["on_hold"] as? Int == 1)
        }
    }

    @Test("productivity per user and day from a known history: counts, mean and p90 handle time, returns, denials")
    func productivityFigures() async throws {
        try await APIHarness.run { h, c in
            let fixture = h.fixture
            let coder = h.users[.coder]!
            let biller = h.users[.biller]!
            var encounters: [UUID] = []
            for index in 0..<3 { encounters.append(try await fixture.receive("P-\(index)")) }
            func event(_ encounter: UUID, _ actor: UUID?, _ action: String, _ at: String, lease: UUID? = nil) async throws {
                try await fixture.client.query(
                    """
                    INSERT INTO events (encounter_id, practice_id, actor_id, action, lease_id, occurred_at)
                    VALUES (\(encounter), \(fixture.practiceID), \(actor), \(action), \(lease), \(at)::timestamptz)
                    """,
                    logger: TestDatabase.logger
                )
            }
            // Day 1: three encounters coded in 600, 1800 and 300 seconds; the last sent back.
            let spans = [("09:00", "09:10"), ("10:00", "10:30"), ("11:00", "11:05")]
            for (index, span) in spans.enumerated() {
                let lease = UUID()
                try await event(
                    encounters[index], coder, index == 1 ? "work.reassigned" : "work.pulled", "2026-11-02 \(span.0):00+00", lease: lease)
                try await event(encounters[index], coder, "coding.completed", "2026-11-02 \(span.1):00+00", lease: lease)
            }
            try await event(encounters[2], nil, "handoff.returned", "2026-11-02 11:06:00+00")
            // Day 2: the biller submits two claims.
            try await event(encounters[0], biller, "claim.submitted", "2026-11-03 14:00:00+00")
            try await event(encounters[1], biller, "claim.submitted", "2026-11-03 15:00:00+00")
            // Three of the coder's claims answered by an 835 in the range: one denied.
            for (index, outcome) in ["paid", "denied", "paid"].enumerated() {
                try await fixture.client.query(
                    """
                    WITH claim AS (
                        INSERT INTO claims (encounter_id, version, coding_version, total_charge, coded_by, status)
                        VALUES (\(encounters[index]), 1, 1, 100, \(coder), \(outcome)) RETURNING id
                    )
                    INSERT INTO claim_answers (claim_id, kind, outcome, received_at)
                    SELECT id, '835', \(outcome), '2026-11-03 16:00:00+00' FROM claim
                    """,
                    logger: TestDatabase.logger
                )
            }

            let reply = try await c.send(
                .get, "/api/v1/supervisor/productivity?from=2026-11-02&to=2026-11-03", token: h.tokens[.supervisor]
            )
            #expect(reply.status == 200, "\(reply.body)")
            let users = try #require(reply.json["users"] as? [[String: Any]])
            #expect(users.map { $0["username"] as? String } == ["biller", "coder"])
            let billerDays = try #require(users[0]["days"] as? [[String: Any]])
            #expect(billerDays.count == 1)
            #expect(billerDays[0]["day"] as? String == "2026-11-03")
            #expect(billerDays[0]["claims_submitted"] as? Int == 2)
            #expect(billerDays[0]["encounters_coded"] as? Int == 0)
            let coderDays = try #require(users[1]["days"] as? [[String: Any]])
            #expect(coderDays.count == 1)
            let day = coderDays[0]
            #expect(day["day"] as? String == "2026-11-02")
            #expect(day["encounters_coded"] as? Int == 3)
            #expect(day["mean_handle_seconds"] as? Double == 900)
            // percentile_cont(0.9) of 300, 600, 1800: 600 + 0.8 * (1800 - 600).
            #expect(day["p90_handle_seconds"] as? Double == 1560)
            #expect(abs((day["returned_share"] as? Double ?? 0) - 1.0 / 3.0) < 1e-9)
            #expect(abs((users[1]["denial_rate"] as? Double ?? 0) - 1.0 / 3.0) < 1e-9)
            #expect(users[0]["denial_rate"] == nil)
        }
    }

    @Test(
        "the scrubber report counts a seeded history: checks, passes, returns, and each blocking rule's returns over the range, warnings left out"
    )
    func scrubberReport() async throws {
        try await APIHarness.run { h, c in
            let fixture = h.fixture
            let supervisor = h.tokens[.supervisor]
            func figures(_ range: String) async throws -> [String: Any] {
                let reply = try await c.send(.get, "/api/v1/supervisor/scrubber?\(range)", token: supervisor)
                #expect(reply.status == 200, "\(reply.body)")
                return reply.json
            }
            func rules(_ json: [String: Any]) -> [String] {
                (json["rules"] as? [[String: Any]] ?? []).map { "\($0["rule"] ?? "") \($0["returned"] ?? "")" }
            }

            // A history written as the handoff worker writes it. 2026-11-02: two passes and a
            // return recorded before blocking rules were kept apart (its rules all count).
            // 2026-11-03: a pass and two returns. 2026-11-05, outside the range: a return.
            let encounter = try await fixture.receive("SCRUB")
            let history: [(String, String, String)] = [
                ("2026-11-02 09:00", "handoff.passed", "{}"), ("2026-11-02 10:00", "handoff.passed", "{}"),
                ("2026-11-02 11:00", "handoff.returned", #"{"errors": "1", "rules": "line.modifier_unknown,ncci.pair"}"#),
                ("2026-11-03 09:00", "handoff.passed", "{}"),
                (
                    "2026-11-03 10:00", "handoff.returned",
                    #"{"errors": "2", "rules": "diagnosis.sex,line.modifier_unknown,ncci.pair", "blocking": "diagnosis.sex,ncci.pair"}"#
                ),
                ("2026-11-03 11:00", "handoff.returned", #"{"errors": "1", "rules": "line.mue_day", "blocking": "line.mue_day"}"#),
                ("2026-11-05 09:00", "handoff.returned", #"{"errors": "1", "rules": "claim.payer", "blocking": "claim.payer"}"#),
            ]
            for (at, action, detail) in history {
                try await fixture.client.query(
                    """
                    INSERT INTO events (encounter_id, practice_id, action, detail, occurred_at)
                    VALUES (\(encounter), \(fixture.practiceID), \(action), \(detail)::jsonb, \(at + ":00+00")::timestamptz)
                    """,
                    logger: TestDatabase.logger
                )
            }
            let seeded = try await figures("from=2026-11-02&to=2026-11-03")
            #expect(seeded["checked"] as? Int == 6 && seeded["passed"] as? Int == 3 && seeded["returned"] as? Int == 3, "\(seeded)")
            #expect(rules(seeded) == ["ncci.pair 2", "diagnosis.sex 1", "line.modifier_unknown 1", "line.mue_day 1"])
            let top = try #require((seeded["rules"] as? [[String: Any]])?.first)
            #expect(abs((top["share"] as? Double ?? 0) - 2.0 / 3.0) < 1e-9)
            let practices = try #require(seeded["practices"] as? [[String: Any]])
            #expect(practices.count == 1 && practices[0]["practice_code"] as? String == "TEST" && practices[0]["checked"] as? Int == 6)
            // One day: only its checks. A range that ends before it starts: nothing.
            let day = try await figures("from=2026-11-03&to=2026-11-03")
            #expect(day["checked"] as? Int == 3 && rules(day) == ["diagnosis.sex 1", "line.mue_day 1", "ncci.pair 1"])
            let empty = try await figures("from=2026-11-03&to=2026-11-02")
            #expect(empty["checked"] as? Int == 0 && (empty["practices"] as? [Any])?.isEmpty == true)

            // Today, through the handoff worker itself: E11.9 passes; N40.0 twice on a woman is
            // sent back for the sex edit and an unknown code (the duplicate is a warning, not a
            // reason); W19.XXXA first for the external cause and an unknown code.
            _ = try await CodeSetStore(client: fixture.client, logger: TestDatabase.logger).importFile(
                FixtureFiles.url("codes/icd10cm-older-subset-sample.txt"), kind: .icd10cm, label: "test",
                effectiveFrom: CalendarDate("2026-01-01")!, effectiveTo: nil
            )
            let coder = try await fixture.user("scrub-coder")
            let line = { (pointer: Int) in ServiceLine(code: "99213", units: 1, charge: 125, pointers: [pointer]) }
            _ = try await fixture.codedEncounter("SCRUB-PASS", coder: coder)
            _ = try await fixture.codedEncounter(
                "SCRUB-SEX", coder: coder, codes: CodeAssignment(diagnoses: ["N400", "N400"], lines: [line(1)]))
            _ = try await fixture.codedEncounter(
                "SCRUB-FALL", coder: coder, codes: CodeAssignment(diagnoses: ["W19XXXA", "E119"], lines: [line(2)]))
            let result = try await HandoffWorker(client: fixture.client, logger: TestDatabase.logger).runBatch()
            #expect(result.passed == 1 && result.returned == 2, "\(result)")
            // Yesterday to tomorrow, so the server's date line does not matter.
            let calendar = Calendar(identifier: .gregorian)
            let stamp = { (days: Int) in
                let date = calendar.date(byAdding: .day, value: days, to: Date())!
                let parts = calendar.dateComponents(in: TimeZone(identifier: "UTC")!, from: date)
                return String(format: "%04d-%02d-%02d", parts.year!, parts.month!, parts.day!)
            }
            let today = try await figures("from=\(stamp(-1))&to=\(stamp(1))")
            #expect(today["checked"] as? Int == 3 && today["passed"] as? Int == 1 && today["returned"] as? Int == 2, "\(today)")
            #expect(rules(today) == ["diagnosis.unknown 2", "diagnosis.external_cause_first 1", "diagnosis.sex 1"])
        }
    }

    @Test("/metrics passes promtool and carries the exact queue, transition, findings and claim figures of one known flow")
    func metrics() async throws {
        try await APIHarness.run { h, c in
            _ = try await CodeSetStore(client: h.fixture.client, logger: TestDatabase.logger).importFile(
                FixtureFiles.url("codes/icd10cm-older-subset-sample.txt"), kind: .icd10cm, label: "test",
                effectiveFrom: CalendarDate("2026-01-01")!, effectiveTo: nil
            )
            // One encounter pulled, coded with a header code (E11) and a pointer to a missing
            // diagnosis, completed, and returned by the handoff check; a second one left waiting.
            let (id, lease) = try await leasedCoding(h, c)
            _ = try await h.fixture.receive("WAITING")
            var codes = APIHarness.codesBody()
            codes["lease_id"] = lease.uuidString
            codes["diagnoses"] = ["E11"]
            _ = try await c.send(.put, "/api/v1/coder/encounters/\(id)/codes", token: h.tokens[.coder], json: codes)
            _ = try await c.send(
                .post, "/api/v1/coder/encounters/\(id)/complete", token: h.tokens[.coder], json: ["lease_id": lease.uuidString])
            let batch = try await HandoffWorker(client: h.service, logger: TestDatabase.logger, metrics: h.storeMetrics).runBatch()
            #expect(batch.returned == 1)
            let sampler = QueueMetricsSampler(client: h.service, logger: TestDatabase.logger, metrics: h.storeMetrics)
            try await sampler.sampleQueues()
            try await sampler.sampleClaims()

            let reply = try await c.send(.get, "/metrics")
            #expect(reply.status == 200)
            var values: [String: Double] = [:]
            for line in reply.body.split(separator: "\n") where !line.hasPrefix("#") {
                guard let space = line.lastIndex(of: " "), let value = Double(line[line.index(after: space)...]) else { continue }
                values[String(line[..<space])] = value
            }
            let expected: [String: Double] = [
                "claimflow_queue_depth{queue=\"coding\"}": 2,
                "claimflow_queue_depth{queue=\"billing\"}": 0,
                "claimflow_active_leases{queue=\"coding\"}": 0,
                "claimflow_transitions_total{from=\"ready_to_code\",to=\"coding\"}": 1,
                "claimflow_transitions_total{from=\"coding\",to=\"coded\"}": 1,
                "claimflow_handoff_findings_total{rule=\"diagnosis.header\"}": 1,
                "claimflow_handoff_findings_total{rule=\"line.pointer_missing\"}": 1,
            ]
            for (name, value) in expected.sorted(by: { $0.key < $1.key }) {
                #expect(values[name] == value, "\(name): \(values[name].map { "\($0)" } ?? "absent")\n\(reply.body)")
            }
            // Nothing was ever billed, so the only claim figures are zeros or absent.
            #expect(values.filter { $0.key.hasPrefix("claimflow_claims{") }.values.allSatisfy { $0 == 0 })
            let file = FileManager.default.temporaryDirectory.appending(path: "claimflow-metrics-\(UUID().uuidString).txt")
            try reply.body.write(to: file, atomically: true, encoding: .utf8)
            defer { try? FileManager.default.removeItem(at: file) }
            let promtool = try ChildProcess.run("/bin/sh", ["-c", "promtool check metrics < '\(file.path)'"])
            #expect(promtool.status == 0, "promtool: \(promtool.output)")
        }
    }
}
