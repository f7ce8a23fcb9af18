import ClaimFlowStore
import ClaimFlowTestSupport
import Foundation
import PostgresNIO
import Testing

@Suite("claimflow demo")
struct DemoCommandTests {
    @Test("demo without its ICD-10-CM file refuses to start, naming the option, rather than serve a demo whose every handoff fails")
    func missingCodeSetFailsLoudly() async throws {
        let url = try await TestDatabase.create(prefix: "cf_demo_codes")
        defer { Task { try? await TestDatabase.drop(url) } }
        let environment = ["DATABASE_URL": try TestDatabase.connectionString(for: url)]
        let outcome = try await ClaimFlowProcess.run(
            ["demo", "--seed-only", "--encounters", "1", "--icd10cm", "no/such/icd10cm.txt.gz"], environment: environment)
        #expect(outcome.status != 0)
        #expect(outcome.standardError.contains("the ICD-10-CM release no/such/icd10cm.txt.gz was not found"), "\(outcome.standardError)")
        #expect(outcome.standardError.contains("--icd10cm"))
        #expect(try await CLIDatabase.integer(url, "SELECT count(*)::int FROM encounters") == 0, "nothing seeded")
    }

    @Test("demo --seed-only with DATABASE_URL seeds a practice, users and encounters; a second run adds none")
    func seedsOnce() async throws {
        let url = try await TestDatabase.create(prefix: "cf_demo")
        defer { Task { try? await TestDatabase.drop(url) } }
        let environment = ["DATABASE_URL": try TestDatabase.connectionString(for: url)]
        let arguments = [
            "demo", "--seed-only", "--encounters", "25", "--icd10cm", FixtureFiles.url("codes/icd10cm-older-subset-sample.txt").path,
        ]
        let counts = { @Sendable in
            [
                try await CLIDatabase.integer(url, "SELECT count(*)::int FROM practices"),
                try await CLIDatabase.integer(url, "SELECT count(*)::int FROM users"),
                try await CLIDatabase.integer(url, "SELECT count(*)::int FROM encounters"),
                try await CLIDatabase.integer(url, "SELECT count(*)::int FROM patients"),
                try await CLIDatabase.integer(url, "SELECT count(*)::int FROM payers"),
                try await CLIDatabase.integer(url, "SELECT count(*)::int FROM work_items"),
            ]
        }

        let first = try await ClaimFlowProcess.run(arguments, environment: environment)
        #expect(first.status == 0, "\(first.standardError)")
        #expect(first.standardOutput.contains("practice DEMO with 25 encounters (25 new)"), "\(first.standardOutput)")
        let seeded = try await counts()
        #expect(seeded[0] == 1 && seeded[1] == 6 && seeded[2] == 25, "practices, users, encounters: \(seeded)")
        #expect(seeded.allSatisfy { $0 > 0 }, "\(seeded)")
        #expect(try await CLIDatabase.integer(url, "SELECT count(*)::int FROM api_tokens WHERE revoked_at IS NULL") == 6)

        let second = try await ClaimFlowProcess.run(arguments, environment: environment)
        #expect(second.status == 0, "\(second.standardError)")
        #expect(second.standardOutput.contains("practice DEMO with 25 encounters (0 new)"), "\(second.standardOutput)")
        #expect(try await counts() == seeded, "nothing is duplicated")
        #expect(
            try await CLIDatabase.integer(url, "SELECT count(*)::int FROM api_tokens WHERE revoked_at IS NULL") == 6,
            "the new tokens replace the old ones")
    }
}
