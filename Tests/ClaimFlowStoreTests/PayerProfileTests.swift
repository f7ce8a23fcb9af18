import ClaimFlowCore
import ClaimFlowStore
import ClaimFlowTestSupport
import Foundation
import PostgresNIO
import Testing

/// Payer profiles (sql/0006_payer_profiles.sql): saved with an outcome, carried into each claim
/// version at handoff, and read back from snapshots taken before they existed.
@Suite("Payer profiles")
struct PayerProfileTests {
    static func store(_ client: PostgresClient) -> PracticeStore {
        PracticeStore(client: client, logger: TestDatabase.logger)
    }

    @Test("saving a payer says whether it created, changed or left it alone; values left out are kept")
    func saveOutcomes() async throws {
        try await TestDatabase.withMigrated { client, _ in
            let fixture = try await Fixture.make(client)
            let store = Self.store(client)
            let events: @Sendable () async throws -> Int = {
                try await fixture.count("SELECT count(*)::int FROM events WHERE action = 'payer.saved'")
            }
            let before = try await events()

            let created = try await store.save(
                PayerChange(payerCode: "MCRB1", name: "Medicare B", claimFilingIndicator: "MB"), audit: .system)
            #expect(created.outcome == .created)
            let again = try await store.save(
                PayerChange(payerCode: "MCRB1", name: "Medicare B", claimFilingIndicator: "MB"), audit: .system)
            #expect(again == (created.id, .unchanged))
            // Only the name: the profile stays as it was, nothing is reset to its default.
            let renamed = try await store.save(PayerChange(payerCode: "MCRB1", name: "Medicare Part B"), audit: .system)
            #expect(renamed == (created.id, .updated))
            let corrections = try await store.save(
                PayerChange(payerCode: "MCRB1", name: "Medicare Part B", acceptsCorrections: false, correctedFilingLimitDays: 120),
                audit: .system)
            #expect(corrections.outcome == .updated)

            let payer = try #require(try await store.payers().first { $0.payerCode == "MCRB1" })
            #expect(
                payer
                    == Payer(
                        id: created.id, payerCode: "MCRB1", name: "Medicare Part B", filingLimitDays: 365, claimFilingIndicator: "MB",
                        acceptsCorrections: false, correctedFilingLimitDays: 120))
            // One audit event per change; none for the save that changed nothing.
            #expect(try await events() == before + 3)
            // The fixture's own payer took the defaults.
            let fixturePayer = try #require(try await store.payers().first { $0.payerCode == "PAYTEST" })
            #expect(fixturePayer.claimFilingIndicator == "CI" && fixturePayer.acceptsCorrections)
            #expect(fixturePayer.correctedFilingLimitDays == 365)
        }
    }

    @Test("the database refuses an unknown filing indicator and a corrected filing limit out of range")
    func databaseChecks() async throws {
        try await TestDatabase.withMigrated { client, _ in
            _ = try await Fixture.make(client)
            for change in [
                PayerChange(payerCode: "BAD1", name: "Bad", claimFilingIndicator: "XX"),
                PayerChange(payerCode: "BAD2", name: "Bad", correctedFilingLimitDays: 0),
                PayerChange(payerCode: "BAD3", name: "Bad", correctedFilingLimitDays: 3651),
            ] {
                let error = await #expect(throws: PSQLError.self) { _ = try await Self.store(client).save(change, audit: .system) }
                #expect(error?.serverInfo?[.sqlState] == "23514", "\(change.payerCode)")
            }
        }
    }

    @Test("a claim version keeps the payer's SBR09 of its handoff; a later profile change affects only new versions")
    func snapshotKeepsProfile() async throws {
        try await TestDatabase.withMigrated { client, _ in
            let fixture = try await Fixture.make(client)
            let coder = try await fixture.user("coder")
            let biller = try await fixture.user("biller", roles: [.biller])
            let store = Self.store(client)
            _ = try await store.save(PayerChange(payerCode: "PAYTEST", name: "Payer TEST", claimFilingIndicator: "MB"), audit: .system)
            let medicareClaim = try await fixture.submittedClaim("SBR-1", coder: coder, biller: biller)
            _ = try await store.save(PayerChange(payerCode: "PAYTEST", name: "Payer TEST", claimFilingIndicator: "BL"), audit: .system)
            let blueClaim = try await fixture.submittedClaim("SBR-2", coder: coder, biller: biller)

            let claims = ClaimStore(client: client, logger: TestDatabase.logger, queue: fixture.queue)
            #expect(try await claims.x12Claim(medicareClaim).claimFilingIndicator == "MB")
            #expect(try await claims.x12Claim(blueClaim).claimFilingIndicator == "BL")
            let submissions = SubmissionStore(client: client, logger: TestDatabase.logger, queue: fixture.queue)
            for (claimID, indicator) in [(medicareClaim, "MB"), (blueClaim, "BL")] {
                let text = try await submissions.x12(ofClaim: claimID, settings: X12Settings())
                #expect(text.contains("SBR*P*18*******\(indicator)~"), "\(text)")
                let pcn = X12Claim.patientControlNumber(for: claimID)
                #expect(text.contains("REF*6R*\(X12Claim.lineItemControlNumber(patientControlNumber: pcn, line: 1))~"))
                let verdict = try PyX12.validate(text: text, name: "sbr09-\(indicator)")
                #expect(verdict.ok, "\(verdict.output)\n\(text)")
            }
        }
    }

    @Test("a claim version snapshotted before payer profiles keeps SBR09 CI, whatever its payer says now")
    func olderSnapshotFilesAsCI() async throws {
        let url = try await TestDatabase.create()
        do {
            try await TestDatabase.withClient(url) { client in
                try await Migrator(client: client, logger: TestDatabase.logger).migrate()
                let fixture = try await Fixture.make(client)
                let coder = try await fixture.user("coder")
                let biller = try await fixture.user("biller", roles: [.biller])
                // A snapshot as versions before payer profiles (migration 0006) took it: no claim
                // filing indicator. Snapshots are immutable, so the schema's owner lifts the
                // guard for this one change, as only a test may.
                let oldClaim = try await fixture.submittedClaim("OLD-SBR", coder: coder, biller: biller)
                for statement: PostgresQuery in [
                    "ALTER TABLE claims DISABLE TRIGGER USER",
                    "UPDATE claims SET snapshot = snapshot #- '{payer,claimFilingIndicator}' WHERE id = \(oldClaim)",
                    "ALTER TABLE claims ENABLE TRIGGER USER",
                ] {
                    try await client.query(statement, logger: TestDatabase.logger)
                }

                #expect(
                    try await fixture.count(
                        "SELECT count(*)::int FROM claims WHERE id = \(oldClaim) AND NOT snapshot -> 'payer' ? 'claimFilingIndicator'")
                        == 1)
                _ = try await Self.store(client).save(
                    PayerChange(payerCode: "PAYTEST", name: "Payer TEST", claimFilingIndicator: "MC"), audit: .system)
                let claims = ClaimStore(client: client, logger: TestDatabase.logger, queue: fixture.queue)
                #expect(try await claims.x12Claim(oldClaim).claimFilingIndicator == "CI")
                let newClaim = try await fixture.submittedClaim("NEW-SBR", coder: coder, biller: biller)
                #expect(try await claims.x12Claim(newClaim).claimFilingIndicator == "MC")
            }
            try await TestDatabase.drop(url)
        } catch {
            try? await TestDatabase.drop(url)
            throw error
        }
    }

    @Test("a practice is a billing provider: a 5-digit ZIP code or a PO box is refused, ZIP+4 and a street taken")
    func practiceAddress() async throws {
        try await TestDatabase.withMigrated { client, _ in
            let store = Self.store(client)
            func practice(_ code: String, line1: String, zip: String) -> Practice {
                Practice(
                    code: code, name: "Practice \(code)", npi: "1234567893", taxID: "123456789", taxonomy: "207Q00000X",
                    address: PostalAddress(line1: line1, city: "Springfield", state: "IL", postalCode: zip))
            }
            for (code, line1, zip, field) in [
                ("ZIP5", "1 Main Street", "62701", "postal_code"), ("BOX", "P.O. Box 12", "627011234", "line1"),
            ] {
                for save in [store.create, store.upsert] as [(Practice, AuditContext) async throws -> UUID] {
                    let error = await #expect(throws: StoreError.self) {
                        _ = try await save(practice(code, line1: line1, zip: zip), .system)
                    }
                    #expect(error?.code == .invalidValue && error?.detail.contains(field) == true, "\(String(describing: error))")
                }
            }
            let good = try await store.create(practice("GOOD", line1: "1 Main Street", zip: "627011234"), audit: .system)
            #expect(try await store.practices([good]).map(\.code) == ["GOOD"])
        }
    }
}
