import ClaimFlowCore
import ClaimFlowHosting
import ClaimFlowStore
import ClaimFlowTestSupport
import Foundation
import PostgresNIO
import Testing

#if canImport(Glibc)
import Glibc
#endif

@Suite("claimflow work")
struct WorkCommandTests {
    @Test("work hands a coded encounter on to billing through the database, and exits 0 on SIGTERM within 30 seconds")
    func handsOffAndStops() async throws {
        let (url, environment) = try await CLIDatabase.migrated(prefix: "cf_work")
        defer { Task { try? await TestDatabase.drop(url) } }
        let encounter = try await TestDatabase.withClient(url) { client in
            let fixture = try await Fixture.make(client)
            _ = try await CodeSetStore(client: client, logger: TestDatabase.logger).importFile(
                FixtureFiles.url("codes/icd10cm-older-subset-sample.txt"), kind: .icd10cm, label: "test",
                effectiveFrom: CalendarDate("2026-01-01")!, effectiveTo: nil
            )
            let coder = try await fixture.user("coder")
            let id = try await fixture.receive("WORK-1")
            let lease = try await fixture.queue.reassign(encounterID: id, to: coder, reason: "test", audit: .system)
            try await CodingStore(client: client, logger: TestDatabase.logger, queue: fixture.queue).saveDraft(
                encounterID: id, leaseID: lease.id, holder: coder,
                codes: CodeAssignment(diagnoses: ["E119"], lines: [ServiceLine(code: "99213", units: 1, charge: 125, pointers: [1])]),
                audit: .system
            )
            try await fixture.queue.finish(
                encounterID: id, leaseID: lease.id, holder: coder, queue: .coding, to: .coded, action: "coding.completed",
                audit: .system
            )
            return id
        }
        let stage = { @Sendable in
            try await TestDatabase.withClient(url, maximumConnections: 1) { client in
                let rows = try await client.query("SELECT stage FROM encounters WHERE id = \(encounter)", logger: TestDatabase.logger)
                for try await stage in rows.decode(String.self) { return stage }
                return "missing"
            }
        }
        #expect(try await stage() == "coded")

        let outbox = URL(fileURLWithPath: "/tmp/claimflow-work-outbox-\(UUID().uuidString.prefix(8))")
        defer { try? FileManager.default.removeItem(at: outbox) }
        let worker = try ClaimFlowProcess.start(["work", "--log-level", "info", "--outbox", outbox.path], environment: environment)
        var current = "coded"
        for _ in 0..<300 where current == "coded" {
            try await Task.sleep(for: .milliseconds(100))
            current = try await stage()
        }
        #expect(current == "ready_to_bill", "the handoff worker passed it on; stderr: \(worker.standardErrorSoFar)")
        #expect(try await CLIDatabase.integer(url, "SELECT count(*)::int FROM claims WHERE encounter_id = \(encounter)") == 1)

        worker.signal(SIGTERM)
        let started = ContinuousClock.now
        let outcome = try await worker.wait(timeout: .seconds(30))
        #expect(outcome.status == 0, "\(outcome.standardError.suffix(2000))")
        #expect(ContinuousClock.now - started < .seconds(30))
        #expect(outcome.standardError.contains("ClaimFlow workers running"), "\(outcome.standardError.suffix(2000))")
    }
}
