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

/// A `claimflow serve` process on a port the kernel picked (`--port 0`), found from the
/// "ClaimFlow listening" line the server logs once its socket is bound.
struct ServedClaimFlow {
    let process: RunningProcess
    let port: Int

    /// Starts `claimflow serve --port 0 arguments...` and waits (bounded) until it reports its
    /// port (in a URL of `scheme`) and `isReady` says so, by default when it answers `/readyz`.
    /// The "ClaimFlow listening" line is a notice, so the log level must be notice or more verbose.
    static func start(
        _ arguments: [String],
        environment: [String: String?],
        timeout: Duration = .seconds(90),
        scheme: String = "http",
        isReady: @Sendable (Int) async -> Bool = Self.answersReadyz
    ) async throws -> ServedClaimFlow {
        let process = try ClaimFlowProcess.start(
            ["serve", "--host", "127.0.0.1", "--port", "0"] + arguments, environment: environment)
        let deadline = ContinuousClock.now + timeout
        var port: Int?
        while ContinuousClock.now < deadline {
            port = port ?? listeningPort(in: process.standardErrorSoFar, scheme: scheme)
            if let port, await isReady(port) { return ServedClaimFlow(process: process, port: port) }
            try await Task.sleep(for: .milliseconds(100))
        }
        // SIGINT first, so an embedded PostgreSQL is stopped too; `wait` kills after the timeout.
        let outcome = try? await stop(process, signal: SIGINT, timeout: .seconds(30))
        throw TestSetupError(
            "claimflow serve did not report a \(scheme) URL and answer within \(timeout); stderr: \(outcome?.standardError ?? "")")
    }

    /// Whether plain HTTP `/readyz` on `port` answers 200.
    @Sendable static func answersReadyz(_ port: Int) async -> Bool {
        (try? await TestClient.withClient(host: "127.0.0.1", port: port) { client in
            try await client.get("/readyz").status.code == 200
        }) ?? false
    }

    /// The port in the "ClaimFlow listening" line, in either log format, when its URL is `scheme`.
    static func listeningPort(in log: String, scheme: String = "http") -> Int? {
        for line in log.split(separator: "\n") where line.contains("ClaimFlow listening") {
            guard let start = line.range(of: "\(scheme)://127.0.0.1:") else { continue }
            if let port = Int(line[start.upperBound...].prefix(while: \.isNumber)), port > 0 { return port }
        }
        return nil
    }

    /// Starts a server, runs `body` with it, and stops it with `signal` whatever `body` does,
    /// so no server outlives its test. Returns what `body` returned and how the server ended.
    static func run<Result: Sendable>(
        _ arguments: [String],
        environment: [String: String?],
        timeout: Duration = .seconds(90),
        stopWith signal: Int32 = SIGINT,
        _ body: (ServedClaimFlow) async throws -> Result
    ) async throws -> (result: Result, outcome: ClaimFlowProcess.Outcome) {
        let server = try await start(arguments, environment: environment, timeout: timeout)
        let result: Result
        do {
            result = try await body(server)
        } catch {
            let outcome = try? await server.stop(signal: signal)
            throw TestSetupError("\(error); the server's stderr ends: \(outcome?.standardError.suffix(3000) ?? "")")
        }
        return (result, try await server.stop(signal: signal))
    }

    /// Signals the server and waits (bounded) for it to exit.
    func stop(signal: Int32 = SIGINT, timeout: Duration = .seconds(60)) async throws -> ClaimFlowProcess.Outcome {
        try await Self.stop(process, signal: signal, timeout: timeout)
    }

    private static func stop(
        _ process: RunningProcess, signal: Int32, timeout: Duration = .seconds(60)
    ) async throws -> ClaimFlowProcess.Outcome {
        process.signal(signal)
        return try await process.wait(timeout: timeout)
    }

    /// Runs `body` with an HTTP client of this server.
    func withAPI<Result: Sendable>(_ body: @escaping @Sendable (APIClient) async throws -> Result) async throws -> Result {
        try await TestClient.withClient(host: "127.0.0.1", port: port) { client in
            try await body(APIClient(client: client))
        }
    }
}

/// JSON (and raw) requests with a bearer token, against a running server.
struct APIClient: Sendable {
    let client: TestClient

    struct Reply: Sendable {
        let status: Int
        let contentType: String?
        let body: String

        var json: [String: Any] {
            (try? JSONSerialization.jsonObject(with: Data(body.utf8))) as? [String: Any] ?? [:]
        }

        /// The string at `path` in the JSON body (`"lease", "id"`, for instance).
        func string(_ path: String...) -> String? {
            var value: Any? = json
            for key in path { value = (value as? [String: Any])?[key] }
            return value as? String
        }
    }

    func send(
        _ method: HTTPRequest.Method,
        _ path: String,
        token: String?,
        json: Any? = nil,
        raw: String? = nil,
        contentType: String = "application/json"
    ) async throws -> Reply {
        var headers: HTTPFields = [:]
        if let token { headers[.authorization] = "Bearer \(token)" }
        var buffer: ByteBuffer?
        if let json {
            buffer = ByteBuffer(bytes: try JSONSerialization.data(withJSONObject: json))
            headers[.contentType] = contentType
        } else if let raw {
            buffer = ByteBuffer(string: raw)
            headers[.contentType] = contentType
        }
        let response = try await client.execute(TestClient.Request(path, method: method, headers: headers, body: buffer))
        return Reply(
            status: Int(response.status.code),
            contentType: response.headers[.contentType],
            body: response.body.map { String(buffer: $0) } ?? ""
        )
    }
}

/// Small database reads for the command-line tests.
enum CLIDatabase {
    /// A new database migrated by `claimflow migrate` itself, and the environment that names it;
    /// the caller drops it.
    static func migrated(prefix: String) async throws -> (DatabaseURL, [String: String?]) {
        let url = try await TestDatabase.create(prefix: prefix)
        let environment: [String: String?] = ["DATABASE_URL": try TestDatabase.connectionString(for: url)]
        let migrate = try await ClaimFlowProcess.run(["migrate"], environment: environment)
        #expect(migrate.status == 0, "claimflow migrate: \(migrate.standardError.suffix(2000))")
        return (url, environment)
    }

    /// The one integer `query` returns.
    static func integer(_ url: DatabaseURL, _ query: PostgresQuery) async throws -> Int {
        try await TestDatabase.withClient(url, maximumConnections: 1) { client in
            let rows = try await client.query(query, logger: TestDatabase.logger)
            for try await value in rows.decode(Int.self) { return value }
            throw TestSetupError("the query returned no row")
        }
    }

    /// Runs one statement as the database's owner.
    static func execute(_ url: DatabaseURL, _ query: PostgresQuery) async throws {
        try await TestDatabase.withClient(url, maximumConnections: 1) { client in
            _ = try await client.query(query, logger: TestDatabase.logger)
        }
    }
}

/// Checks on log output in either format.
enum LogLines {
    /// The lines of `log`, without empty ones.
    static func lines(_ log: String) -> [Substring] {
        log.split(separator: "\n", omittingEmptySubsequences: true)
    }

    /// The problems with `log` as JSON lines: each line one JSON object with a known
    /// level, a message, a label and an ISO 8601 time. Empty when all is well.
    static func jsonProblems(_ log: String) -> [String] {
        let levels = Set(["trace", "debug", "info", "notice", "warning", "error", "critical"])
        let time = ISO8601DateFormatter()
        time.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        var problems: [String] = []
        for line in lines(log) {
            guard let object = (try? JSONSerialization.jsonObject(with: Data(line.utf8))) as? [String: Any] else {
                problems.append("not one JSON object: \(line.prefix(300))")
                continue
            }
            if !levels.contains(object["level"] as? String ?? "") { problems.append("no known level: \(line.prefix(300))") }
            if (object["message"] as? String ?? "").isEmpty { problems.append("no message: \(line.prefix(300))") }
            if (object["label"] as? String ?? "").isEmpty { problems.append("no label: \(line.prefix(300))") }
            if time.date(from: object["time"] as? String ?? "") == nil { problems.append("no ISO 8601 time: \(line.prefix(300))") }
        }
        return problems
    }

    /// The lines of `log` that contain `value`, ignoring case.
    static func lines(of log: String, containing value: String) -> [Substring] {
        lines(log).filter { $0.localizedCaseInsensitiveContains(value) }
    }

    /// The lines of `log` with `digits` as a number of its own (not inside a longer run of
    /// letters or digits such as an id or a timestamp).
    static func lines(of log: String, withNumber digits: String) -> [Substring] {
        lines(log).filter { line in
            var rest = line[...]
            while let range = rest.range(of: digits) {
                let before = range.lowerBound == line.startIndex ? nil : line[line.index(before: range.lowerBound)]
                let after = range.upperBound == line.endIndex ? nil : line[range.upperBound]
                let isolated =
                    !(before?.isLetter ?? false) && !(before?.isNumber ?? false) && !(after?.isLetter ?? false)
                    && !(after?.isNumber ?? false)
                if isolated { return true }
                rest = line[range.upperBound...]
            }
            return false
        }
    }
}
