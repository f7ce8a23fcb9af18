import ClaimFlowCore
import ClaimFlowStore
import ClaimFlowTestSupport
import Foundation
import PostgresNIO
import Testing

#if canImport(Glibc)
import Glibc
#endif

@Suite("claimflow outbox, several writers")
struct OutboxRaceTests {
    @Test("`claimflow work` and two `claimflow outbox flush` at once: every claim in exactly one complete, pyx12-valid file")
    func threeBatcherProcesses() async throws {
        let (url, environment) = try await CLIDatabase.migrated(prefix: "cf_outbox_race")
        defer { Task { try? await TestDatabase.drop(url) } }
        let claims = try await TestDatabase.withClient(url) { client in
            let fixture = try await Fixture.make(client)
            let coder = try await fixture.user("coder")
            let biller = try await fixture.user("biller", roles: [.biller])
            return try await fixture.submittedClaims(200, coder: coder, biller: biller, prefix: "RACE")
        }
        let outbox = URL(fileURLWithPath: "/tmp/claimflow-race-\(UUID().uuidString.prefix(8))")
        defer { try? FileManager.default.removeItem(at: outbox) }

        let worker = try ClaimFlowProcess.start(["work", "--outbox", outbox.path], environment: environment)
        let flushes = try (0..<2).map { _ in
            try ClaimFlowProcess.start(["outbox", "flush", "--outbox", outbox.path, "--batch-size", "10"], environment: environment)
        }
        for flush in flushes {
            let outcome = try await flush.wait(timeout: .seconds(300))
            #expect(outcome.status == 0, "\(outcome.standardError.suffix(2000))")
        }
        // The flushes drained the outbox (the worker's passes may have taken some interchanges);
        // wait for the worker's last pass before stopping it.
        var unwritten = -1
        for _ in 0..<300 where unwritten != 0 {
            unwritten = try await CLIDatabase.integer(
                url,
                """
                SELECT (SELECT count(*)::int FROM claims c WHERE c.status = 'submitted'
                          AND NOT EXISTS (SELECT 1 FROM interchange_claims ic WHERE ic.claim_id = c.id))
                     + (SELECT count(*)::int FROM interchanges WHERE written_at IS NULL)
                """)
            if unwritten != 0 { try await Task.sleep(for: .milliseconds(100)) }
        }
        #expect(unwritten == 0)
        worker.signal(SIGTERM)
        let stopped = try await worker.wait(timeout: .seconds(60))
        #expect(stopped.status == 0, "\(stopped.standardError.suffix(2000))")

        let names = try FileManager.default.contentsOfDirectory(atPath: outbox.path).sorted()
        #expect(names.allSatisfy { $0.hasSuffix(".837") && !$0.hasPrefix(".") }, "no temporary file is left: \(names)")
        var inFiles: [String] = []
        for name in names {
            let text = try String(contentsOf: outbox.appending(path: name), encoding: .utf8)
            let lines = text.split(separator: "\n")
            #expect(lines.first?.hasPrefix("ISA*") == true && lines.last?.hasPrefix("IEA*") == true, "\(name) is complete")
            inFiles += lines.filter { $0.hasPrefix("CLM*") }.map { String($0.split(separator: "*")[1]) }
            let verdict = try PyX12.validate(outbox.appending(path: name))
            #expect(verdict.ok, "\(name): \(verdict.output)")
        }
        let expected = Set(claims.map { X12Claim.patientControlNumber(for: $0) })
        print(
            "three batcher processes: \(claims.count) claims, \(names.count) files, duplicates \(inFiles.count - Set(inFiles).count), "
                + "lost \(expected.subtracting(inFiles).count)")
        #expect(inFiles.count == claims.count && Set(inFiles) == expected, "each claim exactly once")
    }
}
