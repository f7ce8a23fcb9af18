import ClaimFlowCore
import ClaimFlowHosting
import ClaimFlowStore
import ClaimFlowTestSupport
import ClaimFlowWorkers
import Foundation
import HTTPTypes
import PostgresNIO
import Testing

/// The 837P writer's side of payer profiles and billing provider addresses, over HTTP.
@Suite("Payer profiles and billing addresses over HTTP")
struct PayerProfileFlowTests {
    /// Intake, coding (two lines) and handoff of one encounter billed to `payerCode`; returns
    /// the claim the biller pulls next and the biller's lease.
    static func handedOffClaim(
        _ h: APIHarness, _ c: TestClientProtocolBox, _ externalID: String, payerCode: String
    ) async throws -> (claim: UUID, lease: UUID) {
        _ = try await CodeSetStore(client: h.fixture.client, logger: TestDatabase.logger).importFile(
            FixtureFiles.url("codes/icd10cm-older-subset-sample.txt"), kind: .icd10cm, label: "test",
            effectiveFrom: CalendarDate("2026-01-01")!, effectiveTo: nil
        )
        var intake = h.intakeBody(externalID)
        intake["coverage"] = ["payer_code": payerCode, "member_id": "MEM-\(externalID)", "relationship": "18"]
        let received = try await c.send(.post, "/api/v1/encounters", token: h.tokens[.intake], json: intake)
        #expect(received.status == 201, "\(received.body)")
        let encounter = try #require(received.uuid("id"))
        let next = try await c.send(.post, "/api/v1/coder/next", token: h.tokens[.coder])
        let lease = try #require(next.uuid("lease", "id"))
        let codes: [String: Any] = [
            "lease_id": lease.uuidString, "diagnoses": ["E11.9", "I10"],
            "lines": [
                ["code": "99213", "modifiers": ["25"], "units": 1, "charge": "125.00", "pointers": [1, 2]],
                ["code": "36415", "units": 1, "charge": "12.50", "pointers": [1]],
            ],
        ]
        let saved = try await c.send(.put, "/api/v1/coder/encounters/\(encounter)/codes", token: h.tokens[.coder], json: codes)
        #expect(saved.status == 200, "\(saved.body)")
        let completed = try await c.send(
            .post, "/api/v1/coder/encounters/\(encounter)/complete", token: h.tokens[.coder], json: ["lease_id": lease.uuidString])
        #expect(completed.status == 200, "\(completed.body)")
        #expect(try await HandoffWorker(client: h.service, logger: TestDatabase.logger).runBatch().passed == 1)
        let billing = try await c.send(.post, "/api/v1/biller/next", token: h.tokens[.biller])
        return (try #require(billing.uuid("claim", "id")), try #require(billing.uuid("lease", "id")))
    }

    @Test("an admin's Medicare payer (SBR09 MB) ends up in the claim's 837P, each line with its REF*6R, valid for both validators")
    func medicarePayerEndToEnd() async throws {
        try await APIHarness.run { h, c in
            let payer: [String: Any] = [
                "payer_code": "MEDICAREB", "name": "Medicare Part B", "claim_filing_indicator": "MB",
                "accepts_corrections": true, "corrected_filing_limit_days": 365, "filing_limit_days": 365,
            ]
            let created = try await c.send(.post, "/api/v1/admin/payers", token: h.tokens[.admin], json: payer)
            #expect(created.status == 201 && created.json["outcome"] as? String == "created", "\(created.body)")
            let again = try await c.send(.post, "/api/v1/admin/payers", token: h.tokens[.admin], json: payer)
            #expect(again.status == 200 && again.json["outcome"] as? String == "unchanged", "\(again.body)")
            #expect(again.uuid("id") == created.uuid("id"))
            // The name alone changes the name and keeps the profile.
            let renamed = try await c.send(
                .post, "/api/v1/admin/payers", token: h.tokens[.admin], json: ["payer_code": "MEDICAREB", "name": "Medicare B"])
            #expect(renamed.status == 200 && renamed.json["outcome"] as? String == "updated", "\(renamed.body)")
            let list = try await c.send(.get, "/api/v1/admin/payers", token: h.tokens[.admin])
            let listed = (list.json["payers"] as? [[String: Any]] ?? []).first { $0["payer_code"] as? String == "MEDICAREB" }
            #expect(listed?["claim_filing_indicator"] as? String == "MB" && listed?["name"] as? String == "Medicare B")
            #expect(listed?["accepts_corrections"] as? Bool == true && listed?["corrected_filing_limit_days"] as? Int == 365)

            let (claim, _) = try await Self.handedOffClaim(h, c, "MCR-1", payerCode: "MEDICAREB")
            let x12 = try await c.send(.get, "/api/v1/biller/claims/\(claim)/x12", token: h.tokens[.biller])
            #expect(x12.status == 200, "\(x12.body)")
            let segments = x12.body.split(separator: "~").map { $0.trimmingCharacters(in: .whitespacesAndNewlines) }
            let sbr = try #require(segments.first { $0.hasPrefix("SBR*") })
            #expect(sbr.hasPrefix("SBR*P*18*") && sbr.hasSuffix("*MB"), "\(sbr)")
            let pcn = X12Claim.patientControlNumber(for: claim)
            #expect(segments.filter { $0.hasPrefix("REF*6R*") } == ["REF*6R*\(pcn)-1", "REF*6R*\(pcn)-2"])
            #expect(segments.contains { $0.hasPrefix("N4*") && $0.hasSuffix("*627011234") })

            let file = FileManager.default.temporaryDirectory.appending(path: "claimflow-mb-\(UUID().uuidString).x12")
            defer { try? FileManager.default.removeItem(at: file) }
            try x12.body.write(to: file, atomically: true, encoding: .utf8)
            let verdict = try PyX12.validate(file)
            #expect(verdict.ok, "\(verdict.output)")
            let peer = try X12Peer.validate(file)
            #expect(peer.ok, "\(peer.output)")
        }
    }

    @Test("an unknown claim filing indicator is refused at its field")
    func unknownFilingIndicator() async throws {
        try await APIHarness.run { h, c in
            let reply = try await c.send(
                .post, "/api/v1/admin/payers", token: h.tokens[.admin],
                json: ["payer_code": "BADSBR", "name": "Bad", "claim_filing_indicator": "XX"])
            let paths = (reply.json["findings"] as? [[String: Any]] ?? []).compactMap { $0["path"] as? String }
            #expect(reply.status == 422 && paths == ["$.claim_filing_indicator"], "\(reply.body)")
        }
    }

    @Test(
        "a practice with a 5-digit ZIP code or a PO box is refused with a finding at the field",
        arguments: [
            (["line1": "1 Main Street", "postal_code": "62701"], "$.address.postal_code"),
            (["line1": "P.O. Box 12", "postal_code": "627011234"], "$.address.line1"),
            (["line1": "1 Main Street", "line2": "Lock Box 9", "postal_code": "627011234"], "$.address.line2"),
            (["line1": "Post Office Box 3", "postal_code": "627011234"], "$.address.line1"),
        ])
    func practiceAddressRefused(address: [String: String], path: String) async throws {
        try await APIHarness.run { h, c in
            var fields: [String: Any] = ["city": "Springfield", "state": "IL"]
            for (key, value) in address { fields[key] = value }
            let body: [String: Any] = [
                "code": "BILLADDR", "name": "Address Clinic", "npi": "1234567893", "tax_id": "123456789",
                "taxonomy": "207Q00000X", "address": fields,
            ]
            let reply = try await c.send(.post, "/api/v1/admin/practices", token: h.tokens[.admin], json: body)
            #expect(reply.status == 422 && reply.headers[.contentType] == "application/problem+json", "\(reply.body)")
            let paths = (reply.json["findings"] as? [[String: Any]] ?? []).compactMap { $0["path"] as? String }
            #expect(paths == [path], "\(reply.body)")
            #expect(try await h.fixture.count("SELECT count(*)::int FROM practices WHERE code = 'BILLADDR'") == 0)
        }
    }

    @Test("a claim whose billing provider has a 5-digit ZIP code: its 837P and its submission are a 422 naming the field")
    func unwritableClaimIs422() async throws {
        try await APIHarness.run { h, c in
            // A practice saved before the rule: the database itself still allows 5 digits.
            try await h.fixture.client.query(
                "UPDATE practices SET postal_code = '62701' WHERE id = \(h.fixture.practiceID)", logger: TestDatabase.logger)
            let (claim, lease) = try await Self.handedOffClaim(h, c, "ZIP5-1", payerCode: "PAYTEST")
            let x12 = try await c.send(.get, "/api/v1/biller/claims/\(claim)/x12", token: h.tokens[.biller])
            #expect(x12.status == 422 && x12.headers[.contentType] == "application/problem+json", "\(x12.body)")
            #expect(x12.json["type"] as? String == "https://claimflow.dev/problems/unsubmittable")
            let detail = try #require(x12.json["detail"] as? String)
            #expect(detail.contains("2010AA N403 ZIP code") && detail.contains(claim.uuidString), "\(detail)")
            // The claim id is hex and could spell anything: the check reads the rest.
            let rest = detail.replacingOccurrences(of: claim.uuidString, with: "")
            for phi in ["Ada", "ADA", "Lovelace", "LOVELACE", "1960", "MEM-ZIP5-1", "62701"] {
                #expect(!rest.contains(phi), "\(detail) shows \(phi)")
            }
            let submitted = try await c.send(
                .post, "/api/v1/biller/claims/\(claim)/submit", token: h.tokens[.biller], json: ["lease_id": lease.uuidString])
            #expect(submitted.status == 422, "\(submitted.body)")
            #expect((submitted.json["detail"] as? String)?.contains("2010AA N403 ZIP code") == true, "\(submitted.body)")
        }
    }
}
