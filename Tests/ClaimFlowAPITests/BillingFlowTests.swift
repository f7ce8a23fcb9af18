import ClaimFlowCore
import ClaimFlowHosting
import ClaimFlowStore
import ClaimFlowTestSupport
import ClaimFlowWorkers
import Foundation
import HTTPTypes
import PostgresNIO
import Testing

@Suite("Billing over HTTP")
struct BillingFlowTests {
    @Test("intake, coding, handoff, submit, 837P in the outbox, 277CA rejects one, 835 pays one and denies two")
    func claimsOutAndBack() async throws {
        try await APIHarness.run(live: true) { h, c in
            _ = try await CodeSetStore(client: h.fixture.client, logger: TestDatabase.logger).importFile(
                FixtureFiles.url("codes/icd10cm-older-subset-sample.txt"), kind: .icd10cm, label: "test",
                effectiveFrom: CalendarDate("2026-01-01")!, effectiveTo: nil
            )
            var encounters: [UUID] = []
            for index in 0..<4 {
                let reply = try await c.send(.post, "/api/v1/encounters", token: h.tokens[.intake], json: h.intakeBody("BILL-\(index)"))
                encounters.append(try #require(reply.uuid("id")))
                let next = try await c.send(.post, "/api/v1/coder/next", token: h.tokens[.coder])
                let lease = try #require(next.uuid("lease", "id"))
                var codes = APIHarness.codesBody()
                codes["lease_id"] = lease.uuidString
                #expect(
                    try await c.send(.put, "/api/v1/coder/encounters/\(encounters[index])/codes", token: h.tokens[.coder], json: codes)
                        .status == 200)
                #expect(
                    try await c.send(
                        .post, "/api/v1/coder/encounters/\(encounters[index])/complete", token: h.tokens[.coder],
                        json: ["lease_id": lease.uuidString]
                    ).status == 200)
            }
            #expect(try await HandoffWorker(client: h.service, logger: TestDatabase.logger).runBatch().passed == 4)

            var claims: [UUID: UUID] = [:]
            for _ in 0..<4 {
                let next = try await c.send(.post, "/api/v1/biller/next", token: h.tokens[.biller])
                let claim = try #require(next.uuid("claim", "id"))
                let encounter = try #require(next.uuid("claim", "encounter_id"))
                claims[encounter] = claim
                let x12 = try await c.send(.get, "/api/v1/biller/claims/\(claim)/x12", token: h.tokens[.biller])
                #expect(x12.status == 200 && x12.body.hasPrefix("ISA*"))
                let submitted = try await c.send(
                    .post, "/api/v1/biller/claims/\(claim)/submit", token: h.tokens[.biller],
                    json: ["lease_id": try #require(next.uuid("lease", "id")).uuidString]
                )
                #expect(submitted.status == 200, "\(submitted.body)")
            }
            let outbox = FileManager.default.temporaryDirectory.appending(path: "claimflow-e2e-outbox-\(UUID().uuidString)")
            defer { try? FileManager.default.removeItem(at: outbox) }
            let batcher = SubmissionBatcher(
                client: h.service, queue: h.fixture.queue, outbox: outbox, settings: X12Settings(), logger: TestDatabase.logger
            )
            #expect(try await batcher.runOnce() == 4)
            let files = try FileManager.default.contentsOfDirectory(atPath: outbox.path)
            #expect(files.count == 1)
            // Two independent validators: pyx12 and LinuxForHealth x12.
            let verdict = try PyX12.validate(outbox.appending(path: files[0]))
            #expect(verdict.ok, "\(verdict.output)")
            let peer = try X12Peer.validate(outbox.appending(path: files[0]))
            #expect(peer.ok, "\(peer.output)")

            let (rejected, paid, coding, billing) = (encounters[0], encounters[1], encounters[2], encounters[3])
            let pcn = { (encounter: UUID) in X12Claim.patientControlNumber(for: claims[encounter]!) }
            let ack = X12AnswerFiles.claimAcknowledgment([
                (pcn(rejected), false), (pcn(paid), true), (pcn(coding), true), (pcn(billing), true),
            ])
            let acked = try await c.send(
                .post, "/api/v1/acknowledgments", token: h.tokens[.biller], raw: ack, contentType: "application/edi-x12")
            #expect(acked.status == 200, "\(acked.body)")
            #expect(try await h.fixture.encounters.stage(of: rejected) == .readyToBill)
            #expect(try await h.fixture.encounters.stage(of: paid) == .accepted)

            let remittance = X12AnswerFiles.remittance([(pcn(paid), 80, nil), (pcn(coding), 0, "11"), (pcn(billing), 0, "16")])
            let remitted = try await c.send(
                .post, "/api/v1/remittances", token: h.tokens[.biller], raw: remittance, contentType: "application/edi-x12")
            #expect(remitted.status == 200, "\(remitted.body)")
            let outcomes = try #require(remitted.json["claims"] as? [[String: Any]])
            #expect(outcomes.map { $0["routed_to"] as? String } == [nil, "coding", "billing"])

            #expect(try await h.fixture.encounters.stage(of: paid) == .paid)
            #expect(try await h.fixture.encounters.stage(of: coding) == .rework)
            #expect(try await h.fixture.encounters.stage(of: billing) == .readyToBill)
            #expect(try await h.fixture.count("SELECT version FROM encounters WHERE id = \(coding)") == 2)
            #expect(
                try await h.fixture.count("SELECT count(*)::int FROM service_lines WHERE encounter_id = \(coding) AND version = 2") == 1)
            #expect(try await h.fixture.count("SELECT (paid_amount * 100)::int FROM claims WHERE id = \(claims[paid]!)") == 8_000)

            // The coding denial comes back to coding as version 2; its claim replaces the denied one.
            let rework = try await c.send(.post, "/api/v1/coder/next", token: h.tokens[.coder])
            #expect(rework.uuid("encounter", "id") == coding)
            #expect((rework.json["encounter"] as? [String: Any])?["version"] as? Int == 2)
            let reworkLease = try #require(rework.uuid("lease", "id"))
            #expect(
                try await c.send(
                    .post, "/api/v1/coder/encounters/\(coding)/complete", token: h.tokens[.coder],
                    json: ["lease_id": reworkLease.uuidString]
                ).status == 200)
            #expect(try await HandoffWorker(client: h.service, logger: TestDatabase.logger).runBatch().passed == 1)
            #expect(
                try await h.fixture.count(
                    "SELECT count(*)::int FROM claims WHERE encounter_id = \(coding) AND version = 2 AND frequency_code = '7' AND replaces_claim_id = \(claims[coding]!)"
                ) == 1)
            // The rejection and the billing denial wait in billing as new claim versions.
            #expect(
                try await h.fixture.count(
                    "SELECT count(*)::int FROM claims WHERE encounter_id = \(rejected) AND version = 2 AND frequency_code = '1' AND status = 'ready'"
                ) == 1)
            #expect(
                try await h.fixture.count(
                    "SELECT count(*)::int FROM claims WHERE encounter_id = \(billing) AND version = 2 AND frequency_code = '7' AND status = 'ready'"
                ) == 1)

            // A replay of either file changes nothing in the database, and says so per claim.
            for (endpoint, file, count) in [("/api/v1/remittances", remittance, 3), ("/api/v1/acknowledgments", ack, 4)] {
                let before = try await TableSnapshot.ofWork(h.fixture.client)
                let replay = try await c.send(.post, endpoint, token: h.tokens[.biller], raw: file, contentType: "application/edi-x12")
                #expect(replay.status == 200, "\(replay.body)")
                let replayed = try #require(replay.json["claims"] as? [[String: Any]])
                #expect(replayed.count == count)
                #expect(replayed.allSatisfy { $0["changed"] as? Bool == false }, "\(replay.body)")
                let after = try await TableSnapshot.ofWork(h.fixture.client)
                #expect(after == before, "\(endpoint) replay changed the database")
            }
        }
    }

    /// Every kind of bad answer file the test knows: `allCases`, so no arm goes unrun.
    enum BadFile: String, CaseIterable, Sendable {
        case truncated = "truncated"
        case wrongSegmentCount = "wrong segment count"
        case truncated277CA = "277CA truncated"
        case wrongEndpoint = "wrong endpoint"
    }

    @Test(
        "intake's claim details reach the 837P: 2310A referring provider, 2310C service facility, REF*G1 and REF*9F, CLM11 with DTP*439, DTP*431/454/304; both validators pass it; place of service 22 without a facility is sent back"
    )
    func claimDetailsReachThe837P() async throws {
        try await APIHarness.run(live: true) { h, c in
            _ = try await CodeSetStore(client: h.fixture.client, logger: TestDatabase.logger).importFile(
                FixtureFiles.url("codes/icd10cm-older-subset-sample.txt"), kind: .icd10cm, label: "test",
                effectiveFrom: CalendarDate("2026-01-01")!, effectiveTo: nil
            )
            var detailed = h.intakeBody("DETAILS-1")
            detailed["place_of_service"] = "22"
            detailed["referring_provider"] = ["npi": "1234567893", "first_name": "Ruth", "last_name": "Okafor"]
            detailed["service_facility"] = [
                "name": "Riverside Outpatient Surgery", "npi": "1234567893",
                "address": ["line1": "400 River Rd", "city": "Springfield", "state": "IL", "postal_code": "62702"],
            ]
            detailed["prior_authorization"] = "PA-2026-0042"
            detailed["referral_number"] = "RF-77"
            detailed["related_causes"] = ["AA", "EM"]
            detailed["accident_state"] = "IL"
            for (field, date) in [
                ("accident_date", "2026-03-01"), ("onset_date", "2026-03-01"), ("initial_treatment_date", "2026-03-02"),
                ("last_seen_date", "2026-02-20"),
            ] { detailed[field] = date }
            // The practice bills as its one clinician, who rendered the service (2010AA NM102 = 1).
            try await h.fixture.client.query(
                "UPDATE practices SET individual_first_name = 'Pat', individual_last_name = 'Provider' WHERE id = \(h.fixture.practiceID)",
                logger: TestDatabase.logger)
            var noFacility = h.intakeBody("DETAILS-2")
            noFacility["place_of_service"] = "22"
            // An auto accident without its date and state is refused at intake, naming both.
            var undated = h.intakeBody("DETAILS-3")
            undated["related_causes"] = ["AA"]
            let refused = try await c.send(.post, "/api/v1/encounters", token: h.tokens[.intake], json: undated)
            let paths = (refused.json["findings"] as? [[String: Any]] ?? []).compactMap { $0["path"] as? String }.sorted()
            #expect(refused.status == 422 && paths == ["$.accident_date", "$.accident_state"], "\(refused.body)")

            // The detailed one is coded with an anesthesia line in minutes and a drug line with its NDC.
            var anesthesiaAndDrug = APIHarness.codesBody()
            var lines = anesthesiaAndDrug["lines"] as? [[String: Any]] ?? []
            lines.append(["code": "00840", "units": 1, "charge": "900.00", "pointers": [1], "anesthesia_minutes": 95])
            lines.append([
                "code": "J1100", "units": 4, "charge": "24.00", "pointers": [1],
                "drug": ["ndc": "00641-0367-21", "unit": "ML", "quantity": "4"],
            ])
            anesthesiaAndDrug["lines"] = lines
            var encounters: [UUID] = []
            for (body, coded) in [(detailed, anesthesiaAndDrug), (noFacility, APIHarness.codesBody())] {
                let reply = try await c.send(.post, "/api/v1/encounters", token: h.tokens[.intake], json: body)
                #expect(reply.status == 201, "\(reply.body)")
                let encounter = try #require(reply.uuid("id"))
                encounters.append(encounter)
                let next = try await c.send(.post, "/api/v1/coder/next", token: h.tokens[.coder])
                let lease = try #require(next.uuid("lease", "id"))
                var codes = coded
                codes["lease_id"] = lease.uuidString
                #expect(
                    try await c.send(.put, "/api/v1/coder/encounters/\(encounter)/codes", token: h.tokens[.coder], json: codes).status
                        == 200)
                #expect(
                    try await c.send(
                        .post, "/api/v1/coder/encounters/\(encounter)/complete", token: h.tokens[.coder],
                        json: ["lease_id": lease.uuidString]
                    ).status == 200)
            }
            let handoff = try await HandoffWorker(client: h.service, logger: TestDatabase.logger).runBatch()
            #expect(handoff.passed == 1 && handoff.returned == 1, "\(handoff)")
            let returned = try await h.fixture.count(
                "SELECT count(*)::int FROM events WHERE action = 'handoff.returned' AND encounter_id = \(encounters[1]) AND detail ->> 'blocking' = 'claim.service_facility'"
            )
            #expect(returned == 1)

            let next = try await c.send(.post, "/api/v1/biller/next", token: h.tokens[.biller])
            let claim = try #require(next.uuid("claim", "id"))
            #expect(next.uuid("claim", "encounter_id") == encounters[0])
            let submitted = try await c.send(
                .post, "/api/v1/biller/claims/\(claim)/submit", token: h.tokens[.biller],
                json: ["lease_id": try #require(next.uuid("lease", "id")).uuidString])
            #expect(submitted.status == 200, "\(submitted.body)")
            let outbox = FileManager.default.temporaryDirectory.appending(path: "claimflow-details-outbox-\(UUID().uuidString)")
            defer { try? FileManager.default.removeItem(at: outbox) }
            let batcher = SubmissionBatcher(
                client: h.service, queue: h.fixture.queue, outbox: outbox, settings: X12Settings(), logger: TestDatabase.logger)
            #expect(try await batcher.runOnce() == 1)
            let file = outbox.appending(path: try #require(try FileManager.default.contentsOfDirectory(atPath: outbox.path).first))
            let text = try String(contentsOf: file, encoding: .utf8)
            for segment in [
                "CLM*", "*22:B:1*Y*A*Y*Y**AA:EM::IL~", "DTP*431*D8*20260301~", "DTP*454*D8*20260302~", "DTP*304*D8*20260220~",
                "DTP*439*D8*20260301~", "REF*9F*RF-77~", "REF*G1*PA-2026-0042~", "NM1*DN*1*OKAFOR*RUTH****XX*1234567893~",
                "NM1*77*2*RIVERSIDE OUTPATIENT SURGERY*****XX*1234567893~", "N3*400 RIVER RD~", "SV1*HC:00840*900*MJ*95**",
                "LIN**N4*00641036721~", "CTP****4*ML~", "NM1*85*1*PROVIDER*PAT****XX*1234567893~",
            ] {
                #expect(text.contains(segment), "\(segment) missing")
            }
            let verdict = try PyX12.validate(file)
            #expect(verdict.ok, "\(verdict.output)")
            let peer = try X12Peer.validate(file)
            #expect(peer.ok, "\(peer.output)")
        }
    }

    @Test("bad 999, 277CA and 835 files are 422 naming the segment, and change nothing", arguments: BadFile.allCases)
    func badFiles(_ problem: BadFile) async throws {
        try await APIHarness.run { h, c in
            let coder = h.users[.coder]!
            let biller = h.users[.biller]!
            let claim = try await h.fixture.submittedClaim("BAD-1", coder: coder, biller: biller)
            _ = try await SubmissionBatcher(
                client: h.service, queue: h.fixture.queue,
                outbox: FileManager.default.temporaryDirectory.appending(path: "claimflow-bad-\(UUID().uuidString)"),
                settings: X12Settings(), logger: TestDatabase.logger
            ).runOnce()
            let pcn = X12Claim.patientControlNumber(for: claim)
            var text = X12AnswerFiles.remittance([(pcn, 100, nil)])
            var endpoint = "/api/v1/remittances"
            var expected = ""
            switch problem {
            case .truncated:
                text = String(text.prefix(text.count * 2 / 3))
                expected = "segment "
            case .wrongSegmentCount:
                text = text.replacingOccurrences(of: "SE*", with: "SE*9")
                expected = "(SE)"
            case .truncated277CA:
                let whole = X12AnswerFiles.claimAcknowledgment([(pcn, false)])
                text = String(whole.prefix(whole.count - 30))
                endpoint = "/api/v1/acknowledgments"
                expected = "segment "
            case .wrongEndpoint:
                text = X12AnswerFiles.claimAcknowledgment([(pcn, true)])
                endpoint = "/api/v1/remittances"
                expected = "this is a 277CA; this endpoint takes 835"
            }
            let before = try await TableSnapshot.ofWork(h.fixture.client)
            let reply = try await c.send(.post, endpoint, token: h.tokens[.biller], raw: text, contentType: "application/edi-x12")
            #expect(reply.status == 422, "\(reply.body)")
            #expect(try await TableSnapshot.ofWork(h.fixture.client) == before)
            #expect(reply.json["type"] as? String == "https://claimflow.dev/problems/x12-invalid")
            #expect((reply.json["detail"] as? String)?.contains(expected) == true, "\(reply.body)")
            #expect(try await h.fixture.count("SELECT count(*)::int FROM claims WHERE status = 'submitted'") == 1)
            #expect(try await h.fixture.count("SELECT count(*)::int FROM claim_answers") == 0)
            #expect(try await h.fixture.encounters.stage(of: try await encounterOf(claim, h)) == .submitted)
        }
    }

    @Test("answers that name something ClaimFlow never sent: listed or set aside, and the rest of the file applies")
    func unknownNamesDoNotStopTheFile() async throws {
        try await APIHarness.run { h, c in
            let (coder, biller) = (h.users[.coder]!, h.users[.biller]!)
            let first = try await h.fixture.submittedClaim("LIB-1", coder: coder, biller: biller)
            let second = try await h.fixture.submittedClaim("LIB-2", coder: coder, biller: biller)
            _ = try await SubmissionBatcher(
                client: h.service, queue: h.fixture.queue,
                outbox: FileManager.default.temporaryDirectory.appending(path: "claimflow-lib-\(UUID().uuidString)"),
                settings: X12Settings(), logger: TestDatabase.logger
            ).runOnce()
            let (pcn1, pcn2) = (X12Claim.patientControlNumber(for: first), X12Claim.patientControlNumber(for: second))
            func upload(_ endpoint: String, _ text: String) async throws -> [String: Any] {
                let reply = try await c.send(.post, endpoint, token: h.tokens[.biller], raw: text, contentType: "application/edi-x12")
                #expect(reply.status == 200, "\(endpoint): \(reply.body)")
                return reply.json
            }

            let unknownSet = try await upload(
                "/api/v1/acknowledgments", X12AnswerFiles.implementationAcknowledgment(group: 777_777, sets: [("0001", false)]))
            #expect(
                ((unknownSet["unmatched"] as? [[String: Any]])?.first?["reason"] as? String)
                    == "no claim sent by ClaimFlow is transaction set 0001 of group 777777")
            #expect(try await h.fixture.count("SELECT count(*)::int FROM claim_answers") == 0)

            let ack = try await upload(
                "/api/v1/acknowledgments", X12AnswerFiles.claimAcknowledgment([(pcn1, false), ("FFFFFFFFFFFFFFFFFFFF", false)]))
            #expect((ack["claims"] as? [[String: Any]])?.map { $0["outcome"] as? String } == ["rejected"])
            #expect(
                ((ack["unmatched"] as? [[String: Any]])?.first?["reason"] as? String)?.contains(
                    "no claim sent by ClaimFlow has patient control number FFFFFFFFFFFFFFFFFFFF") == true)
            #expect(try await h.fixture.encounters.stage(of: try await encounterOf(first, h)) == .readyToBill)

            // The clearinghouse's IEA02 is not its ISA13: read, and said in the answer.
            let quirky = X12AnswerFiles.remittance([(pcn2, 100, nil), ("00000000000000000000", 10, nil)])
                .replacingOccurrences(of: "IEA*1*000000903", with: "IEA*1*000000001")
            let remit = try await upload("/api/v1/remittances", quirky)
            let warnings = try #require(remit["warnings"] as? [[String: Any]])
            #expect(warnings.map { $0["segment_id"] as? String } == ["IEA"])
            #expect((warnings.first?["reason"] as? String)?.hasPrefix("IEA02 000000001 does not match ISA13 000000903") == true)
            #expect((remit["claims"] as? [[String: Any]])?.map { $0["outcome"] as? String } == ["paid", "exception"])
            let exceptions = try #require(remit["exceptions"] as? [[String: Any]])
            #expect(exceptions.map { $0["kind"] as? String } == ["unknown_claim"])
            #expect(exceptions.first?["segment_position"] as? Int == 17)
            #expect(try await h.fixture.encounters.stage(of: try await encounterOf(second, h)) == .paid)

            // The biller's exceptions list has it, and settling it is recorded once.
            let list = try await c.send(.get, "/api/v1/biller/exceptions", token: h.tokens[.biller])
            let items = try #require(list.json["items"] as? [[String: Any]])
            #expect(items.map { $0["patient_control_number"] as? String } == ["00000000000000000000"])
            let id = try #require(items.first?["id"] as? Int)
            let resolve = { (text: String) in
                try await c.send(
                    .post, "/api/v1/biller/exceptions/\(id)/resolve", token: h.tokens[.biller], json: ["resolution": text])
            }
            #expect(try await resolve("not ours: returned to the payer").status == 200)
            #expect(try await resolve("not ours: returned to the payer").status == 200)
            #expect(try await resolve("something else").status == 409)
            let open = try await c.send(.get, "/api/v1/biller/exceptions", token: h.tokens[.biller])
            #expect((open.json["items"] as? [Any])?.isEmpty == true)
            let money = try await c.send(.get, "/api/v1/biller/claims/\(second)/money", token: h.tokens[.biller])
            #expect(money.status == 200, "\(money.body)")
            #expect(money.json["paid"] as? String == "100.00")
            #expect(money.json["balance"] as? String == "0.00")
        }
    }

    @Test("an upload answering for more than 10,000 claims is 413 and changes nothing")
    func tooManyClaims() async throws {
        try await APIHarness.run { h, c in
            let sets = (1...10_001).map { (number: String(format: "%04d", $0), accepted: true) }
            let text = X12AnswerFiles.implementationAcknowledgment(group: 5, sets: sets)
            let before = try await TableSnapshot.ofWork(h.fixture.client)
            let reply = try await c.send(
                .post, "/api/v1/acknowledgments", token: h.tokens[.biller], raw: text, contentType: "application/edi-x12")
            #expect(reply.status == 413, "\(reply.body)")
            #expect((reply.json["detail"] as? String)?.contains("10001 claims") == true, "\(reply.body)")
            #expect(try await TableSnapshot.ofWork(h.fixture.client) == before)
        }
    }

    func encounterOf(_ claim: UUID, _ h: APIHarness) async throws -> UUID {
        let rows = try await h.fixture.client.query("SELECT encounter_id FROM claims WHERE id = \(claim)", logger: TestDatabase.logger)
        for try await id in rows.decode(UUID.self) { return id }
        throw TestSetupError("no such claim")
    }
}
