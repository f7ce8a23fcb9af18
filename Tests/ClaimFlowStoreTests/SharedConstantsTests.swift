import ClaimFlowCore
import ClaimFlowTestSupport
import Foundation
import PostgresNIO
import Testing

/// Lists the database enforces with a CHECK are Core's lists: intake, the 837P writer and the
/// schema cannot drift apart.
@Suite("Core constants in the schema")
struct SharedConstantsTests {
    @Test("the patient relationship CHECK lists exactly PatientRelationship.codes")
    func relationshipCheck() async throws {
        try await TestDatabase.withMigrated { client, _ in
            let rows = try await client.query(
                """
                SELECT pg_get_constraintdef(oid) FROM pg_constraint
                WHERE contype = 'c' AND pg_get_constraintdef(oid) LIKE '%patient_relationship%'
                """,
                logger: TestDatabase.logger
            )
            var checks: [String] = []
            for try await definition in rows.decode(String.self) { checks.append(definition) }
            #expect(!checks.isEmpty)
            for definition in checks {
                let quoted = definition.split(separator: "'", omittingEmptySubsequences: false).enumerated()
                    .filter { $0.offset % 2 == 1 }.map { String($0.element) }
                #expect(Set(quoted) == Set(PatientRelationship.codes), "\(definition)")
            }
        }
    }

    @Test("the payers' claim filing indicator CHECK lists exactly X12Writer.claimFilingIndicators")
    func claimFilingIndicatorCheck() async throws {
        try await TestDatabase.withMigrated { client, _ in
            let rows = try await client.query(
                "SELECT pg_get_constraintdef(oid) FROM pg_constraint WHERE conname = 'payers_claim_filing_indicator'",
                logger: TestDatabase.logger
            )
            var checks: [String] = []
            for try await definition in rows.decode(String.self) { checks.append(definition) }
            #expect(checks.count == 1)
            for definition in checks {
                let quoted = definition.split(separator: "'", omittingEmptySubsequences: false).enumerated()
                    .filter { $0.offset % 2 == 1 }.map { String($0.element) }
                #expect(quoted.sorted() == X12Writer.claimFilingIndicators.sorted(), "\(definition)")
            }
        }
    }
}
