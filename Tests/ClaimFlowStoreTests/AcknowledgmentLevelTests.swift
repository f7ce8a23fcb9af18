import ClaimFlowCore
import ClaimFlowStore
import ClaimFlowTestSupport
import Foundation
import PostgresNIO
import Testing

@Suite("277CA levels and TA1 applied on a real PostgreSQL")
struct AcknowledgmentLevelTests {
    /// Three claims sent in one interchange, and that interchange's ISA13.
    static func sent(_ fixture: Fixture) async throws -> (claims: [UUID], interchange: Int) {
        let sent = try await AnswerStoreTests.sentClaims(fixture)
        let interchange = try await fixture.count("SELECT control_number::int FROM interchanges")
        return (sent.claims, interchange)
    }

    static func statuses(_ fixture: Fixture, _ claims: [UUID]) async throws -> [String] {
        var result: [String] = []
        for claim in claims {
            let rows = try await fixture.client.query(
                "SELECT c.status || '/' || e.stage FROM claims c JOIN encounters e ON e.id = c.encounter_id WHERE c.id = \(claim)",
                logger: TestDatabase.logger)
            for try await text in rows.decode(String.self) { result.append(text) }
        }
        return result
    }

    @Test("an acknowledgment followed by a later rejection of the same claim rejects it")
    func acceptedThenRejected() async throws {
        try await TestDatabase.withMigrated { client, _ in
            let fixture = try await Fixture.make(client)
            let (claims, _) = try await Self.sent(fixture)
            let pcn = X12Claim.patientControlNumber(for: claims[0])
            try await fixture.applyAnswer(X12AnswerFiles.claimAcknowledgment([(pcn, true)], control: 920))
            #expect(try await Self.statuses(fixture, [claims[0]]) == ["accepted/accepted"])
            let outcomes = try await fixture.applyAnswer(X12AnswerFiles.claimAcknowledgment([(pcn, false)], control: 921))
            #expect(outcomes.map(\.outcome) == ["rejected"])
            #expect(try await Self.statuses(fixture, [claims[0]]) == ["rejected/ready_to_bill"])
            // An acceptance read after the rejection changes nothing.
            let late = try await fixture.applyAnswer(X12AnswerFiles.claimAcknowledgment([(pcn, true)], control: 922))
            #expect(late.map(\.changed) == [false])
        }
    }

    @Test("a batch-level 277CA rejection (2200B, no provider or patient loops) rejects every claim of that interchange")
    func batchRejection() async throws {
        try await TestDatabase.withMigrated { client, _ in
            let fixture = try await Fixture.make(client)
            let (claims, interchange) = try await Self.sent(fixture)
            let trace = String(format: "%09d", interchange)
            let outcomes = try await fixture.applyAnswer(X12AnswerFiles.levelAcknowledgment(batchTrace: trace))
            #expect(Set(outcomes.map(\.claimID)) == Set(claims))
            #expect(outcomes.allSatisfy { $0.outcome == "rejected" && $0.routedTo == "billing" && $0.changed })
            #expect(try await Self.statuses(fixture, claims) == Array(repeating: "rejected/ready_to_bill", count: 3))
            // A trace that names nothing ClaimFlow sent moves nothing.
            let none = try await fixture.applyAnswer(X12AnswerFiles.levelAcknowledgment(batchTrace: "999999990", control: 923))
            #expect(none.isEmpty)
        }
    }

    @Test("a provider-level 277CA rejection (2200C) rejects that billing provider's claims in the batch, and no others")
    func providerRejection() async throws {
        try await TestDatabase.withMigrated { client, _ in
            let fixture = try await Fixture.make(client)
            let (claims, interchange) = try await Self.sent(fixture)
            let trace = String(format: "%09d", interchange)
            var npi = ""
            for try await value in try await client.query(
                "SELECT npi FROM practices WHERE id = \(fixture.practiceID)", logger: TestDatabase.logger
            ).decode(String.self) { npi = value }
            let other = try await fixture.applyAnswer(X12AnswerFiles.levelAcknowledgment(batchTrace: trace, providerNPI: "1245319599"))
            #expect(other.isEmpty, "another provider's rejection")
            #expect(try await Self.statuses(fixture, claims) == Array(repeating: "submitted/submitted", count: 3))
            let outcomes = try await fixture.applyAnswer(
                X12AnswerFiles.levelAcknowledgment(batchTrace: trace, providerNPI: npi, control: 924))
            #expect(Set(outcomes.map(\.claimID)) == Set(claims))
            #expect(try await Self.statuses(fixture, claims) == Array(repeating: "rejected/ready_to_bill", count: 3))
        }
    }

    @Test("a TA1 rejecting the interchange returns all its claims to billing; an accepting TA1 changes nothing")
    func interchangeRejection() async throws {
        try await TestDatabase.withMigrated { client, _ in
            let fixture = try await Fixture.make(client)
            let (claims, interchange) = try await Self.sent(fixture)
            let before = try await TableSnapshot.take(client)
            let accepted = try await fixture.applyAnswer(X12AnswerFiles.interchangeAcknowledgment(interchange: interchange, code: "A"))
            #expect(accepted.isEmpty)
            #expect(try await TableSnapshot.take(client).differences(from: before) == [])
            let outcomes = try await fixture.applyAnswer(
                X12AnswerFiles.interchangeAcknowledgment(interchange: interchange, code: "R", control: 925))
            #expect(Set(outcomes.map(\.claimID)) == Set(claims))
            #expect(try await Self.statuses(fixture, claims) == Array(repeating: "rejected/ready_to_bill", count: 3))
            let codes = try await AnswerStoreTests.rows(
                fixture, "SELECT kind || ':' || (detail->>'codes') FROM claim_answers ORDER BY id")
            #expect(codes == Array(repeating: "TA1:TA1:R:022", count: 3))
            // The same TA1 again changes nothing.
            let again = try await fixture.applyAnswer(
                X12AnswerFiles.interchangeAcknowledgment(interchange: interchange, code: "R", control: 925))
            #expect(again.allSatisfy { !$0.changed })
        }
    }
}
