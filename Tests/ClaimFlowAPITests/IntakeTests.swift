import ClaimFlowCore
import ClaimFlowStore
import ClaimFlowTestSupport
import Foundation
import HTTPTypes
import PostgresNIO
import Testing

@Suite("Intake over HTTP")
struct IntakeTests {
    @Test("a replay returns the same id; a changed body under the same external id is 409")
    func idempotency() async throws {
        try await APIHarness.run { h, c in
            let token = h.tokens[.intake]!
            let first = try await c.send(.post, "/api/v1/encounters", token: token, json: h.intakeBody("V-1"))
            #expect(first.status == 201, "\(first.body)")
            let replay = try await c.send(.post, "/api/v1/encounters", token: token, json: h.intakeBody("V-1"))
            #expect(replay.status == 200)
            #expect(replay.uuid("id") == first.uuid("id"))
            #expect(replay.json["created"] as? Bool == false)
            let changed = try await c.send(
                .post, "/api/v1/encounters", token: token, json: h.intakeBody("V-1", documentation: "Edited note.")
            )
            #expect(changed.status == 409)
            #expect(changed.json["type"] as? String == "https://claimflow.dev/problems/conflict")
            #expect(try await h.fixture.count("SELECT count(*)::int FROM encounters") == 1)
            #expect(try await h.fixture.count("SELECT count(*)::int FROM work_items") == 1)
        }
    }

    @Test("a 1,000-line NDJSON batch with 10 bad lines: 990 created, 10 precise errors")
    func batchWithBadLines() async throws {
        try await APIHarness.run { h, c in
            var lines: [String] = []
            var bad: [Int: String] = [:]
            for index in 1...1_000 {
                var body = h.intakeBody("BATCH-\(index)")
                switch index {
                case 100: body["date_of_service"] = "2026-02-30"; bad[index] = "$.date_of_service"
                case 200: body["place_of_service"] = "office"; bad[index] = "$.place_of_service"
                case 300: body["rendering_provider_npi"] = "1234567890"; bad[index] = "$.rendering_provider_npi"
                case 400: body.removeValue(forKey: "external_id"); bad[index] = "$.external_id"
                case 500: body["priority"] = "high"; bad[index] = "$.priority"
                case 600: body["coverage"] = ["payer_code": "NOPE", "member_id": "M1"]; bad[index] = "$.coverage.payer_code"
                case 700: body["color"] = "blue"; bad[index] = "$.color"
                case 800: body["patient"] = "someone"; bad[index] = "$.patient"
                case 900: body["specialty"] = "Cardiology!"; bad[index] = "$.specialty"
                default: break
                }
                if index == 1_000 {
                    lines.append("{\"practice_code\": \"TEST\", \"external_id\": ")
                    bad[index] = "malformed"
                } else {
                    lines.append(String(decoding: try JSONSerialization.data(withJSONObject: body), as: UTF8.self))
                }
            }
            let reply = try await c.send(
                .post, "/api/v1/encounters/batch", token: h.tokens[.intake], raw: lines.joined(separator: "\n"),
                contentType: "application/x-ndjson"
            )
            #expect(reply.status == 200)
            #expect(reply.json["created"] as? Int == 990)
            #expect(reply.json["failed"] as? Int == 10)
            let results = try #require(reply.json["results"] as? [[String: Any]])
            #expect(results.count == 1_000)
            for result in results {
                let line = try #require(result["line"] as? Int)
                let status = try #require(result["status"] as? Int)
                if let path = bad[line] {
                    let problem = try #require(result["problem"] as? [String: Any], "line \(line)")
                    if path == "malformed" {
                        #expect(status == 400)
                        #expect(problem["type"] as? String == "https://claimflow.dev/problems/malformed-json")
                    } else {
                        #expect(status == 422, "line \(line)")
                        let findings = try #require(problem["findings"] as? [[String: Any]], "line \(line)")
                        #expect(findings.map { $0["path"] as? String } == [path], "line \(line): \(findings)")
                    }
                } else {
                    #expect(status == 201, "line \(line): \(result)")
                }
            }
            #expect(try await h.fixture.count("SELECT count(*)::int FROM encounters") == 990)
            #expect(try await h.fixture.count("SELECT count(*)::int FROM work_items WHERE queue = 'coding'") == 990)
        }
    }
}

extension IntakeTests {
    @Test("one batch naming an external id three times and a patient twice: answered as if line after line")
    func batchDuplicatesAsSequential() async throws {
        try await APIHarness.run { h, c in
            func line(_ externalID: String, mrn: String, firstName: String, documentation: String = "Visit.") throws -> String {
                var body = h.intakeBody(externalID, firstName: firstName, documentation: documentation)
                var patient = body["patient"] as! [String: Any]
                patient["mrn"] = mrn
                body["patient"] = patient
                return String(decoding: try JSONSerialization.data(withJSONObject: body), as: UTF8.self)
            }
            let lines = [
                try line("DUP-A", mrn: "MRN-SAME", firstName: "Ada"),
                try line("DUP-A", mrn: "MRN-SAME", firstName: "Ada"),
                try line("DUP-A", mrn: "MRN-SAME", firstName: "Zed", documentation: "Edited."),
                try line("DUP-B", mrn: "MRN-SAME", firstName: "Bea"),
                "{\"practice_code\": \"TEST\"}",
            ]
            let reply = try await c.send(
                .post, "/api/v1/encounters/batch", token: h.tokens[.intake], raw: lines.joined(separator: "\n"),
                contentType: "application/x-ndjson")
            #expect(reply.status == 200, "\(reply.body)")
            #expect(reply.json["created"] as? Int == 2)
            #expect(reply.json["replayed"] as? Int == 1)
            #expect(reply.json["failed"] as? Int == 2)
            let results = try #require(reply.json["results"] as? [[String: Any]])
            #expect(results.map { $0["line"] as? Int } == [1, 2, 3, 4, 5])
            #expect(results.map { $0["status"] as? Int } == [201, 200, 409, 201, 422])
            #expect(results[1]["id"] as? String == results[0]["id"] as? String)
            let conflict = try #require(results[2]["problem"] as? [String: Any])
            #expect(conflict["type"] as? String == "https://claimflow.dev/problems/conflict")
            #expect(try await h.fixture.count("SELECT count(*)::int FROM encounters") == 2)
            #expect(try await h.fixture.count("SELECT count(*)::int FROM patients") == 1)
            #expect(try await h.fixture.count("SELECT count(*)::int FROM patients WHERE first_name = 'Bea'") == 1)
        }
    }

    @Test("a 1,001-line batch (three chunks) sent twice: the second answer is all 200 with the same ids and writes nothing")
    func batchReplayedWhole() async throws {
        try await APIHarness.run { h, c in
            let body = try (1...1_001).map {
                String(decoding: try JSONSerialization.data(withJSONObject: h.intakeBody("WHOLE-\($0)")), as: UTF8.self)
            }.joined(separator: "\n")
            func send() async throws -> [[String: Any]] {
                let reply = try await c.send(
                    .post, "/api/v1/encounters/batch", token: h.tokens[.intake], raw: body, contentType: "application/x-ndjson")
                #expect(reply.status == 200, "\(reply.body.prefix(300))")
                return try #require(reply.json["results"] as? [[String: Any]])
            }
            let first = try await send()
            #expect(first.map { $0["status"] as? Int } == Array(repeating: 201, count: 1_001))
            #expect(first.map { $0["line"] as? Int } == Array(1...1_001))
            func counts() async throws -> [Int] {
                var counts: [Int] = []
                for table in ["encounters", "patients", "subscribers", "work_items", "events WHERE encounter_id IS NOT NULL"] {
                    counts.append(try await h.fixture.count(PostgresQuery(unsafeSQL: "SELECT count(*)::int FROM \(table)")))
                }
                return counts
            }
            #expect(try await counts() == [1_001, 1_001, 1_001, 1_001, 2_002])
            let before = try await TableSnapshot.ofWork(h.fixture.client)
            let second = try await send()
            #expect(second.map { $0["status"] as? Int } == Array(repeating: 200, count: 1_001))
            #expect(second.map { $0["id"] as? String } == first.map { $0["id"] as? String })
            #expect(try await counts() == [1_001, 1_001, 1_001, 1_001, 2_002])
            #expect(try await TableSnapshot.ofWork(h.fixture.client) == before, "a replayed batch writes nothing")
        }
    }
}

@Suite("Bad input")
struct BadInputTests {
    @Test("a line the database fails on is that line's problem; the lines around it are saved; past 10,000 lines, 413 and nothing saved")
    func batchLineFailuresAndLimit() async throws {
        try await APIHarness.run { h, c in
            // A fault for one encounter only, as a broken trigger or constraint would give.
            try await h.fixture.client.query(
                """
                CREATE FUNCTION fail_one_intake() RETURNS trigger LANGUAGE plpgsql AS $$
                BEGIN
                    IF NEW.external_id = 'BATCH-FAULT' THEN RAISE EXCEPTION 'injected fault'; END IF;
                    RETURN NEW;
                END $$
                """, logger: TestDatabase.logger)
            try await h.fixture.client.query(
                "CREATE TRIGGER fail_one_intake BEFORE INSERT ON encounters FOR EACH ROW EXECUTE FUNCTION fail_one_intake()",
                logger: TestDatabase.logger)
            let lines = try ["BATCH-BEFORE", "BATCH-FAULT", "BATCH-AFTER"].map {
                String(decoding: try JSONSerialization.data(withJSONObject: h.intakeBody($0)), as: UTF8.self)
            }
            let reply = try await c.send(
                .post, "/api/v1/encounters/batch", token: h.tokens[.intake], raw: lines.joined(separator: "\n"),
                contentType: "application/x-ndjson")
            #expect(reply.status == 200, "\(reply.body)")
            let results = try #require(reply.json["results"] as? [[String: Any]])
            #expect(results.map { $0["status"] as? Int } == [201, 500, 201])
            #expect(!reply.body.contains("injected fault"), "the database's text stays out of the answer")
            #expect(try await h.fixture.count("SELECT count(*)::int FROM encounters WHERE external_id LIKE 'BATCH-%'") == 2)

            let tooMany = String(repeating: "x\n", count: 10_001)
            let before = try await TableSnapshot.ofWork(h.fixture.client)
            let refused = try await c.send(
                .post, "/api/v1/encounters/batch", token: h.tokens[.intake], raw: tooMany, contentType: "application/x-ndjson")
            #expect(refused.status == 413, "\(refused.body)")
            #expect((refused.json["detail"] as? String)?.contains("10001 lines") == true, "\(refused.body)")
            #expect(try await TableSnapshot.ofWork(h.fixture.client) == before)
        }
    }

    @Test("malformed JSON, wrong types, missing and unknown fields, wrong media type, huge bodies: problem+json 4xx, nothing written")
    func badBodies() async throws {
        try await APIHarness.run { h, c in
            let token = h.tokens[.intake]!
            func expectProblem(_ reply: TestClientProtocolBox.Reply, _ status: Int, _ type: String) {
                #expect(reply.status == status, "\(reply.body)")
                #expect(reply.headers[.contentType] == "application/problem+json")
                #expect(reply.json["type"] as? String == "https://claimflow.dev/problems/\(type)")
            }
            expectProblem(try await c.send(.post, "/api/v1/encounters", token: token, raw: "{\"practice_code\": "), 400, "malformed-json")
            expectProblem(try await c.send(.post, "/api/v1/encounters", token: token, raw: "[1, 2]"), 422, "validation-failed")
            expectProblem(
                try await c.send(.post, "/api/v1/encounters", token: token, raw: "{}", contentType: "text/plain"),
                415, "unsupported-media-type"
            )

            var wrongTypes = h.intakeBody("T-1")
            wrongTypes["priority"] = "urgent"
            wrongTypes["date_of_service"] = 20_261_102
            wrongTypes["patient"] = ["mrn": 7, "first_name": true, "last_name": "X", "birth_date": "1960-13-01", "sex": "female"]
            wrongTypes.removeValue(forKey: "documentation")
            wrongTypes["notes"] = "unknown field"
            let reply = try await c.send(.post, "/api/v1/encounters", token: token, json: wrongTypes)
            expectProblem(reply, 422, "validation-failed")
            let paths = Set(((reply.json["findings"] as? [[String: Any]]) ?? []).compactMap { $0["path"] as? String })
            #expect(
                paths == [
                    "$.priority", "$.date_of_service", "$.patient.mrn", "$.patient.first_name", "$.patient.birth_date",
                    "$.patient.sex", "$.documentation", "$.notes",
                ]
            )

            var long = h.intakeBody("T-2")
            long["patient"] = [
                "mrn": "M", "first_name": String(repeating: "x", count: 10_000), "last_name": "X", "birth_date": "1960-01-01",
                "sex": "F",
            ]
            expectProblem(try await c.send(.post, "/api/v1/encounters", token: token, json: long), 422, "validation-failed")

            let huge = "{\"documentation\": \"" + String(repeating: "a", count: 1_100_000) + "\"}"
            expectProblem(try await c.send(.post, "/api/v1/encounters", token: token, raw: huge), 413, "payload-too-large")

            var nul = h.intakeBody("T-3")
            nul["documentation"] = "before\u{0}after"
            expectProblem(try await c.send(.post, "/api/v1/encounters", token: token, json: nul), 422, "validation-failed")

            #expect(try await h.fixture.count("SELECT count(*)::int FROM encounters") == 0)
            #expect(try await h.fixture.count("SELECT count(*)::int FROM patients") == 0)
        }
    }

    @Test("SQL metacharacters: refused where the format forbids them, stored verbatim where text allows them, never a 500")
    func sqlMetacharacters() async throws {
        try await APIHarness.run { h, c in
            let token = h.tokens[.intake]!
            let nasty = "x'); DROP TABLE encounters; -- \\ \" % _ $1 ;"
            // Fields whose format forbids the characters: 422 naming exactly that field.
            for field in ["practice_code", "place_of_service", "specialty", "rendering_provider_npi", "date_of_service"] {
                var body = h.intakeBody("SQL-\(field.count)")
                body[field] = nasty
                let reply = try await c.send(.post, "/api/v1/encounters", token: token, json: body)
                #expect(reply.status == 422, "\(field): \(reply.status) \(reply.body)")
                let paths = (reply.json["findings"] as? [[String: Any]] ?? []).compactMap { $0["path"] as? String }
                #expect(paths == ["$.\(field)"], "\(field): \(reply.body)")
            }
            for field in ["birth_date", "sex"] {
                var body = h.intakeBody("SQL-P\(field.count)")
                var patient = body["patient"] as! [String: Any]
                patient[field] = nasty
                body["patient"] = patient
                let reply = try await c.send(.post, "/api/v1/encounters", token: token, json: body)
                let paths = (reply.json["findings"] as? [[String: Any]] ?? []).compactMap { $0["path"] as? String }
                #expect(reply.status == 422 && paths == ["$.patient.\(field)"], "patient.\(field): \(reply.body)")
            }
            #expect(try await h.fixture.count("SELECT count(*)::int FROM encounters") == 0)

            // Free text is data, bound as a parameter: it is stored exactly as sent (O'Brien is a name).
            var body = h.intakeBody("SQL-TEXT", documentation: nasty)
            body["external_id"] = nasty
            var patient = body["patient"] as! [String: Any]
            patient["mrn"] = String(nasty.prefix(30))
            patient["first_name"] = String(nasty.prefix(30))
            patient["last_name"] = nasty
            body["patient"] = patient
            let stored = try await c.send(.post, "/api/v1/encounters", token: token, json: body)
            #expect(stored.status == 201, "\(stored.body)")
            let rows = try await h.fixture.client.query(
                """
                SELECT e.external_id, e.documentation, p.mrn, p.first_name, p.last_name
                FROM encounters e JOIN patients p ON p.id = e.patient_id
                """,
                logger: TestDatabase.logger
            )
            var found: [[String]] = []
            for try await (external, documentation, mrn, first, last) in rows.decode((String, String, String, String, String).self) {
                found.append([external, documentation, mrn, first, last])
            }
            let short = String(nasty.prefix(30))
            #expect(found == [[nasty, nasty, short, short, nasty]])
            #expect(try await h.fixture.count("SELECT count(*)::int FROM pg_tables WHERE tablename = 'encounters'") == 1)
        }
    }

    @Test("unknown routes are 404 and wrong methods 405, as problem+json")
    func routing() async throws {
        try await APIHarness.run { h, c in
            let missing = try await c.send(.get, "/api/v1/nothing-here", token: h.tokens[.admin])
            #expect(missing.status == 404, "\(missing.body)")
            #expect(missing.headers[.contentType] == "application/problem+json")
            let unknownOpen = try await c.send(.get, "/nothing-here")
            #expect(unknownOpen.status == 404)
            #expect(unknownOpen.headers[.contentType] == "application/problem+json")
            let wrongMethod = try await c.send(.delete, "/healthz")
            #expect(wrongMethod.status == 405)
            #expect(wrongMethod.headers[.allow] == "GET")
            #expect(wrongMethod.headers[.contentType] == "application/problem+json")
            let wrongMethodAPI = try await c.send(.get, "/api/v1/coder/next", token: h.tokens[.coder])
            #expect(wrongMethodAPI.status == 405)
        }
    }
}

/// Intake's rate, printed rather than asserted: the suite never fails on timing. Runs only when
/// `CLAIMFLOW_INTAKE_BENCH` is set (to the number of 10,000-line batches to send; 1 when not a
/// number), as `scripts/bench` is where rates are compared.
@Suite(
    "Intake throughput", .enabled(if: ProcessInfo.processInfo.environment["CLAIMFLOW_INTAKE_BENCH"] != nil)
)
struct IntakeThroughputTests {
    @Test("10,000-line NDJSON batches of new encounters: prints encounters per second")
    func batchRate() async throws {
        let batches = max(1, Int(ProcessInfo.processInfo.environment["CLAIMFLOW_INTAKE_BENCH"] ?? "") ?? 1)
        try await APIHarness.run { h, c in
            let clock = ContinuousClock()
            var elapsed = Duration.zero
            for batch in 0..<batches {
                let lines = try (1...10_000).map { index in
                    String(
                        decoding: try JSONSerialization.data(withJSONObject: h.intakeBody("RATE-\(batch)-\(index)")),
                        as: UTF8.self)
                }
                let body = lines.joined(separator: "\n")
                let start = clock.now
                let reply = try await c.send(
                    .post, "/api/v1/encounters/batch", token: h.tokens[.intake], raw: body, contentType: "application/x-ndjson")
                elapsed += clock.now - start
                #expect(reply.status == 200)
                #expect(reply.json["created"] as? Int == 10_000, "\(reply.body.prefix(500))")
            }
            let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
            print("intake throughput: \(batches * 10_000) encounters in \(seconds) s, \(Int(Double(batches * 10_000) / seconds))/s")
        }
    }
}
