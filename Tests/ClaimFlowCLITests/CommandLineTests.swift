import ClaimFlowCore
import ClaimFlowHosting
import ClaimFlowStore
import ClaimFlowTestSupport
import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOCore
import PostgresNIO
import Testing

#if canImport(Glibc)
import Glibc
#endif

@Suite("claimflow command line")
struct CommandLineTests {
    @Test("two `claimflow migrate` runs racing on an empty database both succeed; the schema is applied once")
    func parallelMigrate() async throws {
        let url = try await TestDatabase.create(prefix: "cf_cli")
        defer { Task { try? await TestDatabase.drop(url) } }
        let environment = ["DATABASE_URL": try TestDatabase.connectionString(for: url)]
        async let first = ClaimFlowProcess.run(["migrate"], environment: environment)
        async let second = ClaimFlowProcess.run(["migrate"], environment: environment)
        let outcomes = try await [first, second]
        for outcome in outcomes {
            #expect(outcome.status == 0, "stderr: \(outcome.standardError)")
        }
        // The runs take turns migration by migration: each is applied by exactly one of them.
        let applied = outcomes.flatMap { $0.standardOutput.split(separator: "\n") }.filter { $0.hasPrefix("applied ") }
        #expect(applied.count == Migration.all.count, "\(applied)")
        #expect(Set(applied).count == applied.count, "a migration applied twice: \(applied)")
        #expect(applied.contains("applied 0001 init"))

        let status = try await ClaimFlowProcess.run(["migrate", "--status"], environment: environment)
        #expect(status.status == 0)
        for migration in Migration.all {
            #expect(status.standardOutput.contains(migration.name) && status.standardOutput.contains("applied"))
        }
        let recorded = try await TestDatabase.withClient(url) { client in
            let rows = try await client.query("SELECT count(*)::int FROM schema_migrations", logger: TestDatabase.logger)
            for try await count in rows.decode(Int.self) { return count }
            return -1
        }
        #expect(recorded == Migration.all.count)
    }

    @Test("a malformed DATABASE_URL is one line that names it, and a non-zero exit")
    func badDatabaseURL() async throws {
        let outcome = try await ClaimFlowProcess.run(["migrate"], environment: ["DATABASE_URL": "mysql://nope"])
        expectOneLineError(outcome, mentioning: "DATABASE_URL is not a usable PostgreSQL URL")
    }

    @Test("an unreachable database is one line that says what to check")
    func unreachableDatabase() async throws {
        let outcome = try await ClaimFlowProcess.run(
            ["migrate"],
            environment: ["DATABASE_URL": "postgres://claimflow@127.0.0.1:1/claimflow?sslmode=disable"]
        )
        expectOneLineError(outcome, mentioning: "connection refused; check DATABASE_URL")
    }

    @Test("a missing PostgreSQL install is one line naming the package to install")
    func missingPostgres() async throws {
        let empty = FileManager.default.temporaryDirectory.appending(path: "claimflow-no-pg-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: empty, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: empty) }
        let outcome = try await ClaimFlowProcess.run(
            ["serve", "--data-dir", empty.appending(path: "pg").path],
            environment: ["DATABASE_URL": nil, "CLAIMFLOW_POSTGRES_BIN": empty.path]
        )
        expectOneLineError(outcome, mentioning: "apt-get install -y postgresql")
    }

    @Test("with no DATABASE_URL, serve starts its own PostgreSQL, answers /healthz, and Ctrl-C stops both")
    func embeddedServe() async throws {
        // PostgreSQL runs as the postgres user when we are root, so its folder must be reachable.
        let base = URL(fileURLWithPath: "/tmp/claimflow-embedded-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: base, withIntermediateDirectories: true)
        chmod(base.path, 0o755)
        defer { try? FileManager.default.removeItem(at: base) }
        let dataDirectory = base.appending(path: "postgres")

        // Port 0: the server binds a port the kernel picks and reports it, so no two tests collide.
        let postmasterPID = dataDirectory.appending(path: "postmaster.pid")
        let (healthy, outcome) = try await ServedClaimFlow.run(
            ["--data-dir", dataDirectory.path, "--log-level", "notice"], environment: ["DATABASE_URL": nil], timeout: .seconds(120)
        ) { server in
            #expect(FileManager.default.fileExists(atPath: postmasterPID.path))
            return try await TestClient.withClient(host: "127.0.0.1", port: server.port) { client in
                try await client.get("/healthz").status.code
            }
        }
        #expect(healthy == 200)
        #expect(outcome.status == 0, "stderr: \(outcome.standardError)")
        #expect(!FileManager.default.fileExists(atPath: postmasterPID.path), "the embedded PostgreSQL still runs")
        #expect(outcome.standardError.contains("embedded PostgreSQL runs as the 'postgres' user") || getuid() != 0)
    }

    private func expectOneLineError(_ outcome: ClaimFlowProcess.Outcome, mentioning text: String) {
        #expect(outcome.status != 0)
        let lines = outcome.standardError.split(separator: "\n", omittingEmptySubsequences: true)
        #expect(lines.count == 1, "expected one line, got: \(outcome.standardError)")
        #expect(outcome.standardError.contains(text), "got: \(outcome.standardError)")
        #expect(!outcome.standardError.contains("Fatal error") && !outcome.standardError.contains("0x0"))
    }
}

@Suite("claimflow codes")
struct CodesCommandTests {
    @Test("importing the shipped ICD-10-CM file prints its counts; a second run changes nothing")
    func importICD10CM() async throws {
        let (url, environment) = try await CLIDatabase.migrated(prefix: "cf_codes")
        defer { Task { try? await TestDatabase.drop(url) } }
        let arguments = [
            "codes", "import", "icd10cm", FixtureFiles.icd10cm2026.path, "--release", "2026-04",
            "--effective-from", "2026-04-01", "--effective-to", "2026-09-30",
        ]
        let first = try await ClaimFlowProcess.run(arguments, environment: environment)
        #expect(first.status == 0, "\(first.standardError)")
        #expect(first.standardOutput.contains("icd10cm 2026-04: 98225 rows, 74724 billable;"), "\(first.standardOutput)")
        #expect(first.standardOutput.contains("; imported in"))
        let second = try await ClaimFlowProcess.run(arguments, environment: environment)
        #expect(second.standardOutput.contains("already imported, nothing changed"), "\(second.standardOutput)")

        let bad = try await ClaimFlowProcess.run(
            ["codes", "import", "icd10cm", FixtureFiles.url("codes/ncci-ptp-2026q4-sample.txt").path, "--effective-from", "2026-04-01"],
            environment: environment
        )
        #expect(bad.status != 0)
        #expect(bad.standardError.contains("import failed, nothing changed"), "\(bad.standardError)")
        #expect(bad.standardError.contains("line 1:"), "\(bad.standardError)")
        let list = try await ClaimFlowProcess.run(["codes", "list"], environment: environment)
        #expect(list.standardOutput.split(separator: "\n").count == 1)

        /// Runs one import twice: the first run prints `summary`, the second changes nothing.
        func importTwice(_ arguments: [String], printing summary: String) async throws {
            let first = try await ClaimFlowProcess.run(arguments, environment: environment)
            #expect(first.status == 0, "\(first.standardError)")
            #expect(first.standardOutput.contains(summary), "\(first.standardOutput)")
            let again = try await ClaimFlowProcess.run(arguments, environment: environment)
            #expect(again.standardOutput.contains("already imported, nothing changed"), "\(again.standardOutput)")
        }
        // The tabular's notes, from the CDC's XML.
        try await importTwice(
            [
                "codes", "import", "icd10cm_tabular", FixtureFiles.url("codes/icd10cm-tabular-2026-sample.xml").path, "--release",
                "2026", "--effective-from", "2025-10-01",
            ],
            printing: "icd10cm_tabular 2026: 6 codes read; 15 Excludes1 ranges and 1 manifestation codes stored; imported")
        // HCPCS records with their added and termination dates: the count of discontinued codes.
        try await importTwice(
            [
                "codes", "import", "hcpcs", FixtureFiles.url("codes/hcpcs-2016-sample.txt").path, "--release", "2016",
                "--effective-from", "2016-01-01",
            ],
            printing: "hcpcs 2016: 7 rows; 4 Level II codes stored, 2 of them with a termination date; imported")
    }
}

@Suite("claimflow outbox")
struct OutboxKillTests {
    @Test("the batcher killed (SIGKILL) between writing a file and recording it: after restart each claim is in exactly one file")
    func killBetweenWriteAndRecord() async throws {
        let (url, environment) = try await CLIDatabase.migrated(prefix: "cf_outbox")
        defer { Task { try? await TestDatabase.drop(url) } }

        let claims = try await TestDatabase.withClient(url) { client in
            let fixture = try await Fixture.make(client)
            let coder = try await fixture.user("coder")
            let biller = try await fixture.user("biller", roles: [.biller])
            var ids: [UUID] = []
            for index in 0..<7 { ids.append(try await fixture.submittedClaim("KILL-\(index)", coder: coder, biller: biller)) }
            return ids
        }
        let outbox = URL(fileURLWithPath: "/tmp/claimflow-outbox-\(UUID().uuidString.prefix(8))")
        defer { try? FileManager.default.removeItem(at: outbox) }

        let batcher = try ClaimFlowProcess.start(
            ["outbox", "flush", "--outbox", outbox.path, "--batch-size", "3", "--pause-after-write", "120"],
            environment: environment
        )
        var written: [String] = []
        for _ in 0..<600 where written.isEmpty {
            try await Task.sleep(for: .milliseconds(100))
            written = ((try? FileManager.default.contentsOfDirectory(atPath: outbox.path)) ?? []).filter { $0.hasSuffix(".837") }
        }
        #expect(written.count == 1, "a file was written before the kill; stderr: \(batcher.standardErrorSoFar)")
        batcher.signal(SIGKILL)
        let killed = try await batcher.wait(timeout: .seconds(30))
        #expect(killed.status == 128 + SIGKILL)
        let unwritten = try await TestDatabase.withClient(url) { client in
            let rows = try await client.query(
                "SELECT count(*)::int FROM interchanges WHERE written_at IS NULL", logger: TestDatabase.logger)
            for try await count in rows.decode(Int.self) { return count }
            return -1
        }
        #expect(unwritten == 1, "killed after writing the file, before recording it as written")

        let restarted = try await ClaimFlowProcess.run(
            ["outbox", "flush", "--outbox", outbox.path, "--batch-size", "3"], environment: environment)
        #expect(restarted.status == 0, "\(restarted.standardError)")

        let files = try FileManager.default.contentsOfDirectory(atPath: outbox.path).sorted()
        #expect(files.allSatisfy { $0.hasSuffix(".837") }, "no temporary file is left: \(files)")
        var controlNumbers: [String] = []
        var patientControlNumbers: [String] = []
        for file in files {
            let text = try String(contentsOf: outbox.appending(path: file), encoding: .utf8)
            controlNumbers.append(String(text.dropFirst(90).prefix(9)))
            for line in text.split(separator: "\n") where line.hasPrefix("CLM*") {
                patientControlNumbers.append(String(line.split(separator: "*")[1]))
            }
        }
        #expect(files.count == 3)
        #expect(Set(controlNumbers).count == controlNumbers.count, "no control number repeats: \(controlNumbers)")
        #expect(patientControlNumbers.sorted() == claims.map { X12Claim.patientControlNumber(for: $0) }.sorted(), "each claim exactly once")
    }
}
