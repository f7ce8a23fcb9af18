import ClaimFlowCore
import ClaimFlowHosting
import ClaimFlowStore
import ClaimFlowTestSupport
import Foundation
import HTTPTypes
import Testing

/// One patient and subscriber whose every identifying value is distinctive, so a search of
/// the log for it finds nothing else.
enum TracerPatient {
    static let firstName = "Zebulon"
    static let lastName = "Quixotic-Marsh"
    static let birthDate = "1953-07-19"
    static let mrn = "MRN-ZQ-4455"
    static let addressLine = "77 Heronsgate Lane"
    static let city = "Wrenfield Hollow"
    static let zip = "62998"
    static let zipPlusFour = "4417"
    static let subscriberFirstName = "Yolanda"
    static let subscriberLastName = "Pemberton-Vale"
    static let subscriberBirthDate = "1955-02-03"
    static let memberID = "ZQ998877"
    static let documentation = "Patient with a gravel-voiced wheeze; type 2 diabetes."
    static let question = "Did the copper-kettle cough start before the visit?"
    static let answer = "Yes, the lantern-moth rash came first."

    /// Values searched for as text, ignoring case: names, birth dates in every form they
    /// are written (ISO, X12 D8 and US), ids, address, notes, query and answer.
    static let textValues: [String] = {
        var values = [
            firstName, lastName, "Quixotic", mrn, "ZQ-4455", addressLine, "Heronsgate", city, subscriberFirstName,
            subscriberLastName, "Pemberton", memberID, "gravel-voiced", "wheeze", "copper-kettle", "lantern-moth",
            "\(city)*IL*\(zip)", "\(city), IL \(zip)",
        ]
        for date in [birthDate, subscriberBirthDate] {
            let parts = date.split(separator: "-")
            values += [date, parts.joined(), "\(parts[1])/\(parts[2])/\(parts[0])"]
        }
        return values
    }()

    /// Numbers searched for on their own (not inside a longer run of letters or digits).
    static let numberValues = [zip, zip + zipPlusFour, "\(zip)-\(zipPlusFour)"]

    /// The patient loop name and member id of a payer's answer file, as a payer writes them.
    static let x12Name = "NM1*QC*1*\(lastName.uppercased())*\(firstName.uppercased())****MI*\(memberID)"

    static var intake: [String: Any] {
        [
            "practice_code": "TEST", "external_id": "LOG-1",
            "patient": [
                "mrn": mrn, "first_name": firstName, "last_name": lastName, "birth_date": birthDate, "sex": "M",
                "address": ["line1": addressLine, "city": city, "state": "IL", "postal_code": zip + zipPlusFour],
            ],
            "coverage": [
                "payer_code": "PAYTEST", "member_id": memberID, "relationship": "01",
                "subscriber": [
                    "first_name": subscriberFirstName, "last_name": subscriberLastName, "birth_date": subscriberBirthDate,
                    "sex": "F", "address": ["line1": addressLine, "city": city, "state": "IL", "postal_code": zip],
                ],
            ],
            "rendering_provider_npi": "1234567893", "date_of_service": "2026-11-02", "place_of_service": "11",
            "specialty": "family_medicine", "documentation": documentation,
        ]
    }

    /// Every line of `log` that carries one of the values, with the value found.
    static func findings(in log: String) -> [String] {
        var found: [String] = []
        for value in textValues {
            found += LogLines.lines(of: log, containing: value).map { "\(value): \($0.prefix(400))" }
        }
        for value in numberValues {
            found += LogLines.lines(of: log, withNumber: value).map { "\(value): \($0.prefix(400))" }
        }
        return found
    }
}

@Suite("Logs carry no PHI")
struct PHILogTests {
    @Test(
        "a full run at debug level over HTTP (intake, provider query round trip, coding, handoff, submission, 277CA, 835) logs no PHI value, in either log format",
        arguments: ["text", "json"]
    )
    func noPHIInLogs(format: String) async throws {
        let url = try await TestDatabase.create(prefix: "cf_logs")
        defer { Task { try? await TestDatabase.drop(url) } }
        let outbox = URL(fileURLWithPath: "/tmp/claimflow-logs-outbox-\(UUID().uuidString.prefix(8))")
        defer { try? FileManager.default.removeItem(at: outbox) }
        let environment = ["DATABASE_URL": try TestDatabase.connectionString(for: url)]
        #expect(try await ClaimFlowProcess.run(["migrate"], environment: environment).status == 0)
        let tokens = try await TestDatabase.withClient(url) { client in
            let fixture = try await Fixture.make(client)
            _ = try await CodeSetStore(client: client, logger: TestDatabase.logger).importFile(
                FixtureFiles.url("codes/icd10cm-older-subset-sample.txt"), kind: .icd10cm, label: "test",
                effectiveFrom: CalendarDate("2026-01-01")!, effectiveTo: nil
            )
            var tokens: [String: String] = [:]
            for role in [Role.intake, .coder, .biller, .supervisor] {
                let id = try await fixture.user(role.rawValue, roles: [role])
                tokens[role.rawValue] = try await fixture.users.issueToken(userID: id, label: "t", audit: .system)
            }
            return tokens
        }
        let (x12, outcome) = try await ServedClaimFlow.run(
            ["--log-level", "debug", "--log-format", format, "--outbox", outbox.path], environment: environment
        ) { server in
            try await server.withAPI { api in try await Self.runFlow(api, tokens: tokens, outbox: outbox) }
        }
        let log = outcome.standardError + outcome.standardOutput
        #expect(x12.localizedCaseInsensitiveContains(TracerPatient.lastName), "the PHI reached the claim, where it belongs")

        // The search would see the values: the run logged at debug level, on every path above.
        #expect(LogLines.lines(log).count > 50)
        let debugMark = format == "json" ? "\"level\":\"debug\"" : " debug "
        let loggedDebug = log.contains(debugMark)
        #expect(loggedDebug, "the server logged at debug level")
        for route in ["/query", "/answer", "/codes", "/submit", "/acknowledgments", "/remittances", "/history"] {
            #expect(LogLines.lines(log).contains { $0.contains("request") && $0.contains(route) }, "a request line for \(route)")
        }
        if format == "json" {
            let problems = LogLines.jsonProblems(log)
            #expect(problems.isEmpty, "\(problems.prefix(5))")
        }
        let findings = TracerPatient.findings(in: log)
        #expect(findings.isEmpty, "the log carries PHI:\n\(findings.prefix(40).joined(separator: "\n"))")
    }

    /// The whole life of one claim over HTTP; returns its 837P text.
    static func runFlow(_ api: APIClient, tokens: [String: String], outbox: URL) async throws -> String {
        var intake = TracerPatient.intake
        #expect(try await api.send(.post, "/api/v1/encounters", token: tokens["intake"], json: intake).status == 201)
        intake["documentation"] = "Changed: \(TracerPatient.documentation)"
        #expect(try await api.send(.post, "/api/v1/encounters", token: tokens["intake"], json: intake).status == 409)
        var bad = TracerPatient.intake
        bad["external_id"] = "LOG-2"
        var badPatient = try #require(bad["patient"] as? [String: Any])
        badPatient["birth_date"] = TracerPatient.birthDate.replacingOccurrences(of: "-", with: "")
        bad["patient"] = badPatient
        #expect(try await api.send(.post, "/api/v1/encounters", token: tokens["intake"], json: bad).status == 422)

        // A provider query round trip: on hold, answered, back to the coder.
        let asked = try await api.send(.post, "/api/v1/coder/next", token: tokens["coder"])
        let encounter = try #require(asked.string("encounter", "id"), "\(asked.body)")
        let queried = try await api.send(
            .post, "/api/v1/coder/encounters/\(encounter)/query", token: tokens["coder"],
            json: ["lease_id": try #require(asked.string("lease", "id")), "question": TracerPatient.question]
        )
        #expect(queried.status == 200, "\(queried.body)")
        let answered = try await api.send(
            .post, "/api/v1/encounters/\(encounter)/answer", token: tokens["intake"], json: ["answer": TracerPatient.answer])
        #expect(answered.status == 200, "\(answered.body)")
        let next = try await api.send(.post, "/api/v1/coder/next", token: tokens["coder"])
        #expect(next.string("encounter", "id") == encounter)
        #expect(next.body.contains(TracerPatient.answer), "the coder sees the answer")
        let lease = try #require(next.string("lease", "id"))

        let codes: [String: Any] = [
            "lease_id": lease, "diagnoses": ["E11.9"],
            "lines": [["code": "99213", "units": 1, "charge": "125.00", "pointers": [1]]],
        ]
        #expect(try await api.send(.put, "/api/v1/coder/encounters/\(encounter)/codes", token: tokens["coder"], json: codes).status == 200)
        #expect(
            try await api.send(.post, "/api/v1/coder/encounters/\(encounter)/complete", token: tokens["coder"], json: ["lease_id": lease])
                .status == 200)

        // The server's handoff worker makes the claim.
        var claim: APIClient.Reply?
        for _ in 0..<100 where claim == nil {
            let reply = try await api.send(.post, "/api/v1/biller/next", token: tokens["biller"])
            if reply.status == 200 { claim = reply } else { try await Task.sleep(for: .milliseconds(100)) }
        }
        let claimID = try #require(claim?.string("claim", "id"), "the handoff made a claim")
        let billingLease = try #require(claim?.string("lease", "id"))
        let x12 = try await api.send(.get, "/api/v1/biller/claims/\(claimID)/x12", token: tokens["biller"]).body
        #expect(
            try await api.send(.post, "/api/v1/biller/claims/\(claimID)/submit", token: tokens["biller"], json: ["lease_id": billingLease])
                .status == 200)
        #expect(try await api.send(.get, "/api/v1/encounters/\(encounter)/history", token: tokens["supervisor"]).status == 200)
        #expect(try await api.send(.get, "/api/v1/supervisor/queues", token: tokens["supervisor"]).status == 200)

        // The server's batcher writes the 837P; then the payer answers, naming the patient.
        var written: [String] = []
        for _ in 0..<300 where written.isEmpty {
            written = ((try? FileManager.default.contentsOfDirectory(atPath: outbox.path)) ?? []).filter { $0.hasSuffix(".837") }
            if written.isEmpty { try await Task.sleep(for: .milliseconds(100)) }
        }
        #expect(written.count == 1, "the claim went out, so the whole path ran")
        let pcn = X12Claim.patientControlNumber(for: try #require(UUID(uuidString: claimID)))
        let acknowledgment = X12AnswerFiles.claimAcknowledgment([(pcn, true)])
            .replacingOccurrences(of: "NM1*QC*1*PATIENT*TEST****MI*M0", with: TracerPatient.x12Name)
        #expect(acknowledgment.contains(TracerPatient.x12Name))
        let acked = try await api.send(
            .post, "/api/v1/acknowledgments", token: tokens["biller"], raw: acknowledgment, contentType: "application/edi-x12")
        #expect(acked.status == 200, "\(acked.body)")
        let remittance = X12AnswerFiles.remittance([(pcn, 100, nil)])
            .replacingOccurrences(of: "NM1*QC*1*PATIENT*TEST****MI*M0", with: TracerPatient.x12Name)
        #expect(remittance.contains(TracerPatient.x12Name))
        let remitted = try await api.send(
            .post, "/api/v1/remittances", token: tokens["biller"], raw: remittance, contentType: "application/edi-x12")
        #expect(remitted.status == 200, "\(remitted.body)")
        #expect((remitted.json["claims"] as? [[String: Any]])?.count == 1, "\(remitted.body)")
        return x12
    }
}
