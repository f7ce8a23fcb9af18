import ClaimFlowCore
import ClaimFlowStore
import ClaimFlowTestSupport
import Foundation
import PostgresNIO
import Testing

@Suite("Payer answers applied on a real PostgreSQL")
struct AnswerStoreTests {
    /// Three claims through the real paths, sent in one interchange. Returns the claim ids,
    /// their encounters, the group control number and each claim's transaction set number.
    static func sentClaims(_ fixture: Fixture) async throws -> (claims: [UUID], encounters: [UUID], group: Int, sets: [UUID: String]) {
        let coder = try await fixture.user("coder")
        let biller = try await fixture.user("biller", roles: [.biller])
        var claims: [UUID] = []
        for index in 0..<3 { claims.append(try await fixture.submittedClaim("ANSWER-\(index)", coder: coder, biller: biller)) }
        let interchange = try #require(try await fixture.recordInterchange())
        #expect(Set(interchange.claimIDs) == Set(claims))
        let rows = try await fixture.client.query(
            """
            SELECT ic.claim_id, ic.transaction_set_number, i.group_control_number::int, c.encounter_id
            FROM interchange_claims ic JOIN interchanges i ON i.id = ic.interchange_id JOIN claims c ON c.id = ic.claim_id
            """,
            logger: TestDatabase.logger
        )
        var sets: [UUID: String] = [:]
        var encounters: [UUID: UUID] = [:]
        var group = 0
        for try await (claim, set, groupNumber, encounter) in rows.decode((UUID, String, Int, UUID).self) {
            sets[claim] = set
            encounters[claim] = encounter
            group = groupNumber
        }
        return (claims, try claims.map { try #require(encounters[$0]) }, group, sets)
    }

    /// Every column of the rows a query selects, as text, in a fixed order.
    static func rows(_ fixture: Fixture, _ query: PostgresQuery) async throws -> [String] {
        var result: [String] = []
        for try await row in try await fixture.client.query(query, logger: TestDatabase.logger).decode(String.self) {
            result.append(row)
        }
        return result
    }

    @Test("a 999 that rejects one transaction set sends its claim back to billing; the accepted claims are unchanged")
    func implementationAcknowledgment() async throws {
        try await TestDatabase.withMigrated { client, _ in
            let fixture = try await Fixture.make(client)
            let sent = try await Self.sentClaims(fixture)
            let rejected = sent.claims[1]
            let rejectedEncounter = sent.encounters[1]
            let accepted = [sent.claims[0], sent.claims[2]]
            let acceptedEncounters = [sent.encounters[0], sent.encounters[2]]
            let acceptedClaimRows: PostgresQuery = "SELECT c::text FROM claims c WHERE c.id = ANY (\(accepted)) ORDER BY c.id"
            let acceptedEncounterRows: PostgresQuery =
                "SELECT e::text FROM encounters e WHERE e.id = ANY (\(acceptedEncounters)) ORDER BY e.id"
            let claimsBefore = try await Self.rows(fixture, acceptedClaimRows)
            let encountersBefore = try await Self.rows(fixture, acceptedEncounterRows)

            let file = X12AnswerFiles.implementationAcknowledgment(
                group: sent.group, sets: sent.claims.map { (try! #require(sent.sets[$0]), $0 != rejected) }
            )
            let outcomes = try await fixture.applyAnswer(file)
            #expect(outcomes.count == 3)
            #expect(outcomes.allSatisfy { $0.changed })
            #expect(Set(outcomes.map(\.claimID)) == Set(sent.claims), "one outcome per claim")
            let byClaim = Dictionary(outcomes.map { ($0.claimID, $0) }, uniquingKeysWith: { first, _ in first })
            #expect(byClaim[rejected]?.outcome == "rejected" && byClaim[rejected]?.routedTo == "billing")
            for claim in accepted { #expect(byClaim[claim]?.outcome == "accepted" && byClaim[claim]?.routedTo == nil) }

            // The rejected claim is back in billing as a new original claim version.
            #expect(try await fixture.count("SELECT count(*)::int FROM claims WHERE id = \(rejected) AND status = 'rejected'") == 1)
            #expect(try await fixture.encounters.stage(of: rejectedEncounter) == .readyToBill)
            #expect(
                try await fixture.count(
                    """
                    SELECT count(*)::int FROM claims
                    WHERE encounter_id = \(rejectedEncounter) AND version = 2 AND frequency_code = '1' AND status = 'ready'
                      AND replaces_claim_id IS NULL
                    """
                ) == 1
            )
            #expect(
                try await fixture.count(
                    "SELECT count(*)::int FROM work_items WHERE encounter_id = \(rejectedEncounter) AND queue = 'billing' AND lease_id IS NULL"
                ) == 1
            )
            #expect(
                try await fixture.count(
                    "SELECT count(*)::int FROM claim_answers WHERE claim_id = \(rejected) AND kind = '999' AND outcome = 'rejected'"
                ) == 1
            )

            // The accepted ones: their claims and encounters exactly as before, still submitted,
            // in no queue, with the acknowledgment on record.
            #expect(try await Self.rows(fixture, acceptedClaimRows) == claimsBefore)
            #expect(try await Self.rows(fixture, acceptedEncounterRows) == encountersBefore)
            for encounter in acceptedEncounters { #expect(try await fixture.encounters.stage(of: encounter) == .submitted) }
            #expect(try await fixture.count("SELECT count(*)::int FROM work_items WHERE encounter_id = ANY (\(acceptedEncounters))") == 0)
            #expect(
                try await fixture.count(
                    "SELECT count(*)::int FROM claims WHERE encounter_id = ANY (\(acceptedEncounters)) AND version > 1") == 0)
            #expect(
                try await fixture.count(
                    "SELECT count(*)::int FROM claim_answers WHERE claim_id = ANY (\(accepted)) AND kind = '999' AND outcome = 'accepted'"
                ) == 2
            )
            #expect(
                try await fixture.count(
                    "SELECT count(*)::int FROM events WHERE action IN ('claim.rejected', 'claim.back_to_billing') AND encounter_id <> \(rejectedEncounter)"
                ) == 0
            )
        }
    }

    @Test("replaying a 999 changes nothing, and says so for each claim")
    func implementationAcknowledgmentReplay() async throws {
        try await TestDatabase.withMigrated { client, _ in
            let fixture = try await Fixture.make(client)
            let sent = try await Self.sentClaims(fixture)
            let rejected = sent.claims[1]
            let file = X12AnswerFiles.implementationAcknowledgment(
                group: sent.group, sets: sent.claims.map { (try! #require(sent.sets[$0]), $0 != rejected) }
            )
            let first = try await fixture.applyAnswer(file)
            #expect(first.count == 3)
            #expect(first.allSatisfy { $0.changed })

            let before = try await TableSnapshot.take(client)
            let replay = try await fixture.applyAnswer(file)
            #expect(replay.map(\.claimID) == first.map(\.claimID))
            #expect(replay.map(\.outcome) == first.map(\.outcome))
            #expect(replay.map(\.routedTo) == first.map(\.routedTo))
            #expect(replay.allSatisfy { !$0.changed })
            #expect(try await TableSnapshot.take(client).differences(from: before) == [])
            #expect(
                try await fixture.count("SELECT count(*)::int FROM claim_answers WHERE claim_id = ANY (\(sent.claims)) AND kind = '999'")
                    == 3
            )
        }
    }

    @Test("replaying a 277CA changes nothing, and says so for each claim")
    func claimAcknowledgmentReplay() async throws {
        try await TestDatabase.withMigrated { client, _ in
            let fixture = try await Fixture.make(client)
            let sent = try await Self.sentClaims(fixture)
            let pcns = sent.claims.map { X12Claim.patientControlNumber(for: $0) }
            let file = X12AnswerFiles.claimAcknowledgment([(pcns[0], true), (pcns[1], false), (pcns[2], true)])
            let first = try await fixture.applyAnswer(file)
            #expect(first.map(\.outcome) == ["accepted", "rejected", "accepted"])
            #expect(first.allSatisfy { $0.changed })

            let before = try await TableSnapshot.take(client)
            let replay = try await fixture.applyAnswer(file)
            #expect(replay.map(\.claimID) == first.map(\.claimID))
            #expect(replay.map(\.outcome) == first.map(\.outcome))
            #expect(replay.allSatisfy { !$0.changed })
            #expect(try await TableSnapshot.take(client).differences(from: before) == [])
        }
    }
}
