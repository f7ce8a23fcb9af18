public import ClaimFlowStore
import Crypto
public import Foundation
public import Logging
import PostgresNIO

/// A private PostgreSQL cluster that ClaimFlow starts for itself when no `DATABASE_URL` is
/// given (the embedded default), from the server binaries installed on the machine.
///
/// The cluster lives in its own data folder and listens only on a Unix socket inside a
/// folder that only the cluster's owner can open, so it needs no password and is reachable
/// by nobody else. PostgreSQL refuses to run as root: as root, the server runs as the
/// `postgres` user that Debian's package creates.
public struct EmbeddedPostgres: Sendable {
    /// The database ClaimFlow uses inside the cluster.
    public static let databaseName = "claimflow"
    /// The cluster's superuser, created by initdb.
    public static let username = "claimflow"

    public let binaries: URL
    public let dataDirectory: URL
    public let socketDirectory: URL
    let serverUser: String?
    let logger: Logger

    /// Where ClaimFlow connects.
    public var url: DatabaseURL {
        DatabaseURL(socketDirectory: socketDirectory.path, username: Self.username, database: Self.databaseName)
    }

    /// Finds the server binaries and settles where the cluster and its socket live.
    ///
    /// - Parameters:
    ///   - dataDirectory: the cluster's folder (default `.claimflow/postgres`).
    ///   - binaries: a folder holding `initdb`, `pg_ctl` and `postgres`; when nil, found via
    ///     `pg_config --bindir`, `PATH`, then `/usr/lib/postgresql/*/bin`.
    public init(dataDirectory: String, binaries: String? = nil, logger: Logger) throws(EmbeddedPostgresError) {
        self.logger = logger
        self.binaries = try Self.locateBinaries(explicit: binaries)
        let isRoot = geteuid() == 0
        self.serverUser = isRoot ? "postgres" : nil

        var data = URL(fileURLWithPath: dataDirectory, relativeTo: URL(fileURLWithPath: FileManager.default.currentDirectoryPath))
            .standardizedFileURL
        if isRoot {
            guard getpwnam("postgres") != nil else {
                throw EmbeddedPostgresError(
                    "running as root, but there is no 'postgres' user to run PostgreSQL as; install Debian's postgresql package (apt-get install -y postgresql) or run ClaimFlow as an ordinary user"
                )
            }
            if !Self.postgresUserCanReach(data.deletingLastPathComponent()) {
                // The postgres user cannot reach a folder below, say, /root (mode 700).
                let fallback = URL(fileURLWithPath: "/var/lib/claimflow")
                    .appending(path: "embedded-" + Self.shortHash(data.path))
                logger.notice(
                    "the postgres user cannot reach the data folder; using another",
                    metadata: ["requested": "\(data.path)", "using": "\(fallback.path)"]
                )
                data = fallback
            }
        }
        self.dataDirectory = data
        // A Unix socket path is limited to 107 bytes; a deep data folder gets a socket folder in /tmp.
        if (data.path + "/.s.PGSQL.5432").utf8.count < 100 {
            self.socketDirectory = data
        } else {
            self.socketDirectory = URL(fileURLWithPath: "/tmp/claimflow-" + Self.shortHash(data.path))
        }
    }

    /// Initialises the cluster on first use, starts it, and creates ClaimFlow's database.
    public func start() async throws {
        let fileManager = FileManager.default
        if serverUser != nil {
            logger.notice("running as root: the embedded PostgreSQL runs as the 'postgres' user")
        }
        if !fileManager.fileExists(atPath: dataDirectory.appending(path: "PG_VERSION").path) {
            try prepareOwnedDirectory(dataDirectory)
            logger.info("initialising embedded PostgreSQL cluster", metadata: ["data": "\(dataDirectory.path)"])
            try run(
                "initdb",
                ["-D", dataDirectory.path, "-U", Self.username, "--auth=trust", "-E", "UTF8", "--locale=C"]
            )
        }
        if socketDirectory != dataDirectory { try prepareOwnedDirectory(socketDirectory) }

        // A server left running by a process that was killed is stopped and started afresh, so
        // it listens where this run expects.
        if (try? run("pg_ctl", ["-D", dataDirectory.path, "status"])) != nil {
            logger.notice("stopping an embedded PostgreSQL left running by an earlier run")
            try run("pg_ctl", ["-D", dataDirectory.path, "-m", "fast", "-w", "stop"])
        }
        let options = "-c listen_addresses='' -c port=5432 -c unix_socket_directories='\(socketDirectory.path)'"
        logger.info("starting embedded PostgreSQL", metadata: ["socket": "\(socketDirectory.path)"])
        do {
            try run(
                "pg_ctl",
                [
                    "-D", dataDirectory.path, "-l", dataDirectory.appending(path: "server.log").path,
                    "-w", "-t", "60", "-o", options, "start",
                ]
            )
        } catch {
            throw EmbeddedPostgresError(
                "the embedded PostgreSQL did not start; see \(dataDirectory.appending(path: "server.log").path)"
            )
        }
        try await createDatabaseIfMissing()
    }

    /// Stops the cluster (fast shutdown: open transactions are rolled back).
    public func stop() {
        do {
            try run("pg_ctl", ["-D", dataDirectory.path, "-m", "fast", "-w", "-t", "60", "stop"])
            logger.info("embedded PostgreSQL stopped")
        } catch {
            logger.warning("could not stop the embedded PostgreSQL", metadata: ["error": "\(error)"])
        }
    }

    private func createDatabaseIfMissing() async throws {
        let admin = PostgresClient(
            configuration: url.with(database: "postgres").clientConfiguration(maximumConnections: 1),
            backgroundLogger: logger
        )
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await admin.run() }
            defer { group.cancelAll() }
            try await DatabaseCatalog(client: admin, logger: logger).createDatabaseIfMissing(Self.databaseName)
        }
    }

    /// Makes a folder that only the server's user can open (PostgreSQL wants 0700).
    private func prepareOwnedDirectory(_ directory: URL) throws {
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        if let serverUser, let account = getpwnam(serverUser) {
            guard chown(directory.path, account.pointee.pw_uid, account.pointee.pw_gid) == 0 else {
                throw EmbeddedPostgresError("cannot hand \(directory.path) to the \(serverUser) user")
            }
        }
        chmod(directory.path, 0o700)
    }

    /// Runs one of the server's programs (as the server's user when we are root) and throws
    /// with its output when it fails.
    @discardableResult
    private func run(_ program: String, _ arguments: [String]) throws -> String {
        let executable = binaries.appending(path: program).path
        let outcome =
            if let serverUser {
                try ChildProcess.run("/usr/sbin/runuser", ["-u", serverUser, "--", executable] + arguments)
            } else {
                try ChildProcess.run(executable, arguments)
            }
        guard outcome.status == 0 else {
            throw EmbeddedPostgresError(
                "\(program) failed: \(outcome.output.trimmingCharacters(in: .whitespacesAndNewlines))"
            )
        }
        return outcome.output
    }

    static func locateBinaries(explicit: String?) throws(EmbeddedPostgresError) -> URL {
        let required = ["initdb", "pg_ctl", "postgres"]
        func complete(_ directory: URL) -> Bool {
            required.allSatisfy { FileManager.default.isExecutableFile(atPath: directory.appending(path: $0).path) }
        }
        if let explicit {
            let directory = URL(fileURLWithPath: explicit)
            guard complete(directory) else {
                throw EmbeddedPostgresError(
                    "PostgreSQL server programs (initdb, pg_ctl, postgres) not found in \(explicit); install them with 'apt-get install -y postgresql' or set DATABASE_URL"
                )
            }
            return directory
        }
        var candidates: [URL] = []
        if let bindir = try? capture("/bin/sh", ["-c", "pg_config --bindir 2>/dev/null"]), !bindir.isEmpty {
            candidates.append(URL(fileURLWithPath: bindir))
        }
        for entry in (ProcessInfo.processInfo.environment["PATH"] ?? "").split(separator: ":") {
            let pgCtl = URL(fileURLWithPath: String(entry)).appending(path: "pg_ctl")
            if FileManager.default.isExecutableFile(atPath: pgCtl.path) {
                candidates.append(pgCtl.resolvingSymlinksInPath().deletingLastPathComponent())
            }
        }
        let versions = (try? FileManager.default.contentsOfDirectory(atPath: "/usr/lib/postgresql")) ?? []
        for version in versions.sorted(by: { (Int($0) ?? 0) > (Int($1) ?? 0) }) {
            candidates.append(URL(fileURLWithPath: "/usr/lib/postgresql/\(version)/bin"))
        }
        if let found = candidates.first(where: complete) { return found }
        throw EmbeddedPostgresError(
            "PostgreSQL is not installed (no initdb, pg_ctl and postgres found); install it with 'apt-get install -y postgresql' or set DATABASE_URL to an existing server"
        )
    }

    private static func postgresUserCanReach(_ directory: URL) -> Bool {
        // The nearest existing ancestor must be searchable by postgres for the folders below it
        // to be created and reached.
        var probe = directory
        while !FileManager.default.fileExists(atPath: probe.path), probe.path != "/" {
            probe = probe.deletingLastPathComponent()
        }
        return (try? capture("/usr/sbin/runuser", ["-u", "postgres", "--", "test", "-x", probe.path])) != nil
    }

    private static func shortHash(_ text: String) -> String {
        SHA256.hash(data: Data(text.utf8)).prefix(6).map { String(format: "%02x", $0) }.joined()
    }

    private static func capture(_ executable: String, _ arguments: [String]) throws -> String {
        let outcome = try ChildProcess.run(executable, arguments)
        guard outcome.status == 0 else { throw EmbeddedPostgresError("\(executable) failed") }
        return outcome.output.trimmingCharacters(in: .whitespacesAndNewlines)
    }
}

/// The embedded PostgreSQL could not be found, set up or started; the message says what to do.
public struct EmbeddedPostgresError: Error, Sendable, CustomStringConvertible {
    public let description: String

    init(_ description: String) { self.description = description }
}
