import ClaimFlowCore
import ClaimFlowStore
import ClaimFlowTestSupport
import Foundation
import HTTPTypes
import Testing

#if canImport(Glibc)
import Glibc
#endif

@Suite("claimflow --log-format json")
struct LogFormatTests {
    @Test("with --log-format json every line the server writes is one JSON object with level, message, label and time")
    func jsonLines() async throws {
        let url = try await TestDatabase.create(prefix: "cf_json")
        defer { Task { try? await TestDatabase.drop(url) } }
        let environment = ["DATABASE_URL": try TestDatabase.connectionString(for: url)]
        let ((port, statuses), outcome) = try await ServedClaimFlow.run(
            ["--log-level", "debug", "--log-format", "json"], environment: environment, stopWith: SIGTERM
        ) { server in
            let statuses = try await server.withAPI { api in
                [
                    try await api.send(.get, "/healthz", token: nil).status,
                    try await api.send(.get, "/api/v1/supervisor/queues", token: nil).status,
                    try await api.send(.get, "/api/v1/supervisor/queues", token: "not-a-token").status,
                    try await api.send(.get, "/no/such/path", token: nil).status,
                ]
            }
            return (server.port, statuses)
        }
        #expect(statuses == [200, 401, 401, 404])
        #expect(outcome.status == 0, "\(outcome.standardError.suffix(2000))")

        let log = outcome.standardError + outcome.standardOutput
        let lines = LogLines.lines(log)
        #expect(lines.count >= 10, "the server logged (migrations, start, requests, stop)")
        let problems = LogLines.jsonProblems(log)
        #expect(problems.isEmpty, "\(problems.prefix(5))")
        let objects = lines.compactMap { (try? JSONSerialization.jsonObject(with: Data($0.utf8))) as? [String: Any] }
        let levels = Set(objects.compactMap { $0["level"] as? String })
        #expect(levels.isSuperset(of: ["debug", "info", "notice"]), "\(levels)")
        let listening = objects.first { $0["message"] as? String == "ClaimFlow listening" }
        #expect(listening?["port"] as? String == String(port), "the metadata are fields of the object")
        let requests = objects.filter { $0["message"] as? String == "request" }
        #expect(requests.count >= 4 && requests.allSatisfy { $0["status"] is String && $0["route"] is String })
    }

    @Test("the default log format is text: one line per record with level and label, not JSON")
    func textLines() async throws {
        let url = try await TestDatabase.create(prefix: "cf_text")
        defer { Task { try? await TestDatabase.drop(url) } }
        let environment = ["DATABASE_URL": try TestDatabase.connectionString(for: url)]
        let (_, outcome) = try await ServedClaimFlow.run(["--log-level", "info"], environment: environment, stopWith: SIGTERM) { _ in }
        #expect(outcome.status == 0)
        let lines = LogLines.lines(outcome.standardError)
        #expect(!lines.isEmpty)
        #expect(lines.allSatisfy { !$0.hasPrefix("{") }, "\(lines.prefix(3))")
        #expect(lines.contains { $0.contains(" notice claimflow") && $0.contains("ClaimFlow listening") }, "\(lines.prefix(5))")
    }

    @Test("an unknown log format is refused in one line")
    func unknownFormat() async throws {
        let outcome = try await ClaimFlowProcess.run(
            ["migrate", "--log-format", "xml"], environment: ["DATABASE_URL": "postgres://claimflow@127.0.0.1:1/x?sslmode=disable"])
        #expect(outcome.status != 0)
        #expect(outcome.standardError.contains("unknown log format 'xml'"), "\(outcome.standardError)")
    }
}
