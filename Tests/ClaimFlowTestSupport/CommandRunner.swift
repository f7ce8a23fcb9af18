import ClaimFlowHosting
import ClaimFlowStore
public import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// Runs the built `claimflow` binary as a separate process, as an operator would.
public struct ClaimFlowProcess: Sendable {
    /// The binary next to the test bundle (both live in the build folder).
    public static func binary() throws -> URL {
        let candidates = [
            URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appending(path: "claimflow"),
            URL(fileURLWithPath: #filePath)
                .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
                .appending(path: ".build/debug/claimflow"),
        ]
        guard let found = candidates.first(where: { FileManager.default.isExecutableFile(atPath: $0.path) }) else {
            throw TestSetupError("the claimflow binary is not built; run `swift build` before the tests (scripts/test does)")
        }
        return found
    }

    /// The result of a finished run.
    public struct Outcome: Sendable {
        public let status: Int32
        public let standardOutput: String
        public let standardError: String
    }

    /// Runs `claimflow arguments...` with `environment` added to (or, for nil values, removed
    /// from) this process's environment, and waits for it to exit.
    public static func run(_ arguments: [String], environment: [String: String?] = [:]) async throws -> Outcome {
        let process = try start(arguments, environment: environment)
        return try await process.wait()
    }

    /// Starts the binary without waiting.
    public static func start(_ arguments: [String], environment: [String: String?] = [:]) throws -> RunningProcess {
        let (arguments, environment) = behindPooler(arguments, environment)
        return try launch(arguments, environment: environment)
    }

    /// The commands whose connections run as the service role.
    static let serviceCommands: Set<String> = ["serve", "work", "outbox", "demo"]

    /// When the suite runs through PgBouncer, a command that runs as the service role, on a
    /// test database, runs as a deployment behind a transaction pooler runs it
    /// (deploy/README.md): its pool on the pooler that sets the service role (migrations too:
    /// each migration transaction returns to the login user), LISTEN straight to the server,
    /// prepared statements off. Every other command keeps the owner's pooler.
    static func behindPooler(_ arguments: [String], _ environment: [String: String?]) -> ([String], [String: String?]) {
        guard TestDatabase.throughPooler, let command = arguments.first, serviceCommands.contains(command),
            let given = environment["DATABASE_URL"] ?? nil, let url = try? DatabaseURL(given),
            let owner = try? TestDatabase.serverURL(), url.endpoints == owner.endpoints
        else { return (arguments, environment) }
        var environment = environment
        environment["DATABASE_URL"] = try? TestDatabase.connectionString(for: url, on: "CLAIMFLOW_TEST_SERVICE_URL")
        environment["CLAIMFLOW_LISTEN_URL"] = try? TestDatabase.connectionString(for: url, on: "CLAIMFLOW_TEST_DIRECT_URL")
        environment["CLAIMFLOW_PREPARED_STATEMENTS"] = "off"
        return (arguments, environment)
    }

    private static func launch(_ arguments: [String], environment: [String: String?]) throws -> RunningProcess {
        var merged = ProcessInfo.processInfo.environment
        for (key, value) in environment { merged[key] = value }
        let directory = FileManager.default.temporaryDirectory.appending(path: "claimflow-run-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let pid = try ChildProcess.spawn(
            try binary().path,
            arguments,
            environment: merged.compactMapValues { $0 },
            standardOutput: directory.appending(path: "stdout").path,
            standardError: directory.appending(path: "stderr").path
        )
        return RunningProcess(pid: pid, directory: directory)
    }
}

/// A started `claimflow` process.
public struct RunningProcess: Sendable {
    public let pid: Int32
    let directory: URL

    public func signal(_ signal: Int32) { kill(pid, signal) }

    /// What the process has written to standard error so far.
    public var standardErrorSoFar: String {
        (try? String(contentsOf: directory.appending(path: "stderr"), encoding: .utf8)) ?? ""
    }

    /// Waits for the exit, polling so no thread of the concurrency pool blocks.
    public func wait(timeout: Duration = .seconds(120)) async throws -> ClaimFlowProcess.Outcome {
        let deadline = ContinuousClock.now + timeout
        var status = try ChildProcess.exitStatus(of: pid, waiting: false)
        while status == nil {
            guard ContinuousClock.now < deadline else {
                kill(pid, SIGKILL)
                throw TestSetupError("claimflow did not exit within \(timeout)")
            }
            try await Task.sleep(for: .milliseconds(50))
            status = try ChildProcess.exitStatus(of: pid, waiting: false)
        }
        let out = (try? String(contentsOf: directory.appending(path: "stdout"), encoding: .utf8)) ?? ""
        let err = (try? String(contentsOf: directory.appending(path: "stderr"), encoding: .utf8)) ?? ""
        try? FileManager.default.removeItem(at: directory)
        return .init(status: status ?? -1, standardOutput: out, standardError: err)
    }
}
